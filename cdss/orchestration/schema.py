"""Structured configs behind the YAML, so a misspelled or mistyped key fails at composition.

Registered in Hydra's ConfigStore: `base_config` is the schema of `conf/config.yaml`, and each
group has a `*_schema` option its YAML files extend through their defaults list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf


@dataclass
class MlflowConfig:
    # MLFLOW_TRACKING_URI wins when set; else a SQLite file in the folder the command started in.
    tracking_uri: str = "${oc.env:MLFLOW_TRACKING_URI,sqlite:///mlflow.db}"
    experiment_name: str = "cdss"
    enabled: bool = True
    curve_points: int = 200


@dataclass
class EvalConfig:
    # Cohort seeds are fixed and apart from training seeds: every algorithm and training seed
    # meets the same validation and test orders, so comparisons are paired.
    test_seed: int = 1_000_003
    test_size: int = 2000
    val_seed: int = 2_000_003
    val_size: int = 500


class ScheduleKind(StrEnum):
    """How a rate moves over the episodes (cdss.agents.Schedule)."""

    constant = "constant"
    linear = "linear"
    exponential = "exponential"


class EncodingKind(StrEnum):
    """Which Q-table row an observation uses (cdss.agents.belief)."""

    auto = "auto"  # belief on the prescription env, raw on a Gymnasium env
    belief = "belief"  # the aggregated belief encoding of the prescription env
    raw = "raw"  # one row per observation


@dataclass
class TabularAlgoConfig:
    _target_: str = MISSING
    name: str = MISSING
    alpha: float = 0.1
    gamma: float = 0.95
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_fraction: float = 0.5
    epsilon_schedule: ScheduleKind = ScheduleKind.linear
    alpha_end: float = 0.01
    alpha_decay_fraction: float = 1.0
    alpha_schedule: ScheduleKind = ScheduleKind.constant
    initial_q: float = 0.0
    encoding: EncodingKind = EncodingKind.auto


@dataclass
class BaselineAlgoConfig:
    _target_: str = MISSING
    name: str = MISSING


@dataclass
class RewardConfig:
    _target_: str = "cdss.env.RewardTable"
    name: str = MISSING
    # Rows: none, minor, moderate, major, contraindicated; columns: APPROVE, WARN, BLOCK.
    decisions: list[list[float]] = MISSING
    request_cost: float = 0.5
    empty_request_cost: float = 1.0
    truncation_penalty: float = -10.0


@dataclass
class FuzzyRewardConfig(RewardConfig):
    # reward=fuzzy (cdss.env.FuzzyRewardTable): membership peaks per level, patient modifiers.
    centers: list[float] = field(default_factory=lambda: [0.0, 1.0, 2.0, 3.0, 4.0])
    age_at_least: int = 75
    age_raise: float = 0.5
    egfr_below: float = 60.0
    egfr_raise: float = 0.5


@dataclass
class MechanismConfig:
    _target_: str = MISSING
    name: str = MISSING


@dataclass
class MarConfig(MechanismConfig):
    young_age: int = 50
    young_factor: float = 2.0
    outpatient_factor: float = 2.0
    polypharmacy: int = 5
    polypharmacy_factor: float = 2.0


@dataclass
class MnarConfig(MechanismConfig):
    abnormal_factor: float = 3.0


@dataclass
class KbConfig:
    _target_: str = MISSING
    name: str = MISSING
    path: str | None = None
    # DrugBank vocabulary and WHO ATC index CSVs, read at run time (kb=ddinter, curated_ddinter).
    vocabulary: str | None = None
    atc: str | None = None
    # The risk DDInter's "Unknown" level stands for: none, minor, moderate or major.
    unknown_policy: str = "moderate"


class CohortKind(StrEnum):
    """Where episodes' patients come from (a misspelling fails at composition)."""

    generated = "generated"
    synthea = "synthea"


@dataclass
class EnvConfig:
    _target_: str = "cdss.env.CDSSEnv"
    name: str = MISSING
    max_steps: int = 4
    order_risk_share: float = 0.5
    cohort: CohortKind = CohortKind.generated
    synthea_path: str | None = None  # a Synthea CSV folder, for cohort=synthea
    generator_file: str | None = None  # a fitted generator model (JSON); None: the shipped one


@dataclass
class GymEnvConfig:
    # env=gym: any registered Gymnasium environment with Discrete/MultiDiscrete observations
    # and Discrete actions; `kwargs` are the environment's own arguments.
    _target_: str = "cdss.training.make_env"
    name: str = MISSING
    id: str = MISSING
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None


@dataclass
class ShieldConfig:
    _target_: str | None = None  # None: no shield
    name: str = MISSING


@dataclass
class EarlyStopConfig:
    patience: int | None = None  # validations without improvement before stopping; None: off
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass
class CheckpointConfig:
    every: int = 25_000  # episodes between checkpoints; 0: none
    dir: str = "checkpoints"  # relative to the folder the command started in


@dataclass
class TrainConfig:
    eval_every: int = 10_000  # episodes between validation evaluations; 0: none
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    bootstrap_truncated: bool | None = None  # None: yes for env=gym, no for the prescription env


@dataclass
class Config:
    algo: Any = MISSING
    reward: RewardConfig = MISSING
    mechanism: MechanismConfig = MISSING
    kb: KbConfig = MISSING
    env: Any = MISSING  # EnvConfig (the prescription env) or GymEnvConfig
    shield: ShieldConfig = MISSING
    seed: int = 0
    missing: int = 40
    n_episodes: int = 50_000
    progress: bool | None = None
    from_run: str | None = None
    resume: bool = False
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)


def gym_env_schema() -> DictConfig:
    """GymEnvConfig with `kwargs` open to new keys: they are the environment's own arguments,
    unknown to us, so `env.kwargs.is_slippery=false` works without Hydra's `+`. A misspelled
    key of our own (`env.idd`) still fails."""
    node = OmegaConf.structured(GymEnvConfig)
    OmegaConf.set_struct(node.kwargs, False)
    return node


def register_configs() -> None:
    """Make the schemas known to Hydra; called by launch.py before composition."""
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    store.store(group="algo", name="tabular_schema", node=TabularAlgoConfig)
    store.store(group="algo", name="baseline_schema", node=BaselineAlgoConfig)
    store.store(group="reward", name="reward_schema", node=RewardConfig)
    store.store(group="reward", name="fuzzy_reward_schema", node=FuzzyRewardConfig)
    store.store(group="mechanism", name="mechanism_schema", node=MechanismConfig)
    store.store(group="mechanism", name="mar_schema", node=MarConfig)
    store.store(group="mechanism", name="mnar_schema", node=MnarConfig)
    store.store(group="kb", name="kb_schema", node=KbConfig)
    store.store(group="env", name="env_schema", node=EnvConfig)
    store.store(group="env", name="gym_env_schema", node=gym_env_schema())
    store.store(group="shield", name="shield_schema", node=ShieldConfig)
