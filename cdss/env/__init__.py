"""The prescription-safety environment, its patients, missingness, belief state and reward.

Importing this package registers `cdss/Prescription-v0` with Gymnasium; `gymnasium.make`
builds it on the curated knowledge base unless given `kb=`.
"""

from gymnasium.envs.registration import register, registry

from cdss.env.actions import CORRECT_ACTION, GROUPS, Action
from cdss.env.cdss_env import MAX_MISSING, CDSSEnv, Cohort
from cdss.env.missingness import MAR, MCAR, MNAR, Masks, MissingnessMechanism
from cdss.env.observation import FEATURES, N_STATES, NVEC, decode, encode
from cdss.env.patients import PatientGenerator, Patients
from cdss.env.reward import RISK_LEVELS, RewardTable

ENV_ID = "cdss/Prescription-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="cdss.env.cdss_env:CDSSEnv")

__all__ = [
    "CORRECT_ACTION",
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
    "Masks",
    "MissingnessMechanism",
    "PatientGenerator",
    "Patients",
    "RewardTable",
    "decode",
    "encode",
]
