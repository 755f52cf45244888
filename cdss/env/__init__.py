"""The prescription-safety environment, its patients, missingness, belief state and reward.

Importing this package registers `cdss/Prescription-v0` with Gymnasium; `gymnasium.make`
builds it on the curated knowledge base unless given `kb=`. Patients come from a generator
fitted to Synthea records (`cdss.env.fitted`, refit with `python -m cdss.env.synthea fit`) or,
with `cohort="synthea"`, from a Synthea export itself (`cdss.env.synthea`).
"""

from gymnasium.envs.registration import register, registry

from cdss.env.actions import CORRECT_ACTION, GROUPS, Action
from cdss.env.cdss_env import COHORTS, MAX_MISSING, CDSSEnv, Cohort
from cdss.env.missingness import MAR, MCAR, MNAR, Masks, MissingnessMechanism
from cdss.env.observation import FEATURES, N_STATES, NVEC, decode, encode
from cdss.env.patients import CohortSource, PatientGenerator, Patients, RecordSampler
from cdss.env.reward import (
    CONSERVATIVE_DECISIONS,
    DEFAULT_DECISIONS,
    RISK_LEVELS,
    FuzzyRewardTable,
    RewardTable,
)

ENV_ID = "cdss/Prescription-v0"

if ENV_ID not in registry:
    # No PassiveEnvChecker or OrderEnforcing layers: the env refuses a step before reset or
    # after the end itself, and passes check_env in the tests; with episodes of one or two
    # steps, two pass-through wrappers would cost a fifth of the training loop.
    register(
        id=ENV_ID,
        entry_point="cdss.env.cdss_env:CDSSEnv",
        order_enforce=False,
        disable_env_checker=True,
    )

__all__ = [
    "COHORTS",
    "CONSERVATIVE_DECISIONS",
    "CORRECT_ACTION",
    "DEFAULT_DECISIONS",
    "ENV_ID",
    "FEATURES",
    "GROUPS",
    "MAR",
    "MAX_MISSING",
    "MCAR",
    "MNAR",
    "NVEC",
    "N_STATES",
    "RISK_LEVELS",
    "Action",
    "CDSSEnv",
    "Cohort",
    "CohortSource",
    "FuzzyRewardTable",
    "Masks",
    "MissingnessMechanism",
    "PatientGenerator",
    "Patients",
    "RecordSampler",
    "RewardTable",
    "decode",
    "encode",
]
