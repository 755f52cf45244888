"""Structured configs behind the YAML, so a misspelled or mistyped key fails at composition.

Registered in Hydra's ConfigStore: `base_config` is the schema of `conf/config.yaml`, and each
group has a `*_schema` option its YAML files extend through their defaults list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class MlflowConfig:
    # MLFLOW_TRACKING_URI wins when set; else a SQLite file in the folder the command started in.
    tracking_uri: str = "${oc.env:MLFLOW_TRACKING_URI,sqlite:///mlflow.db}"
    experiment_name: str = "cdss"
    enabled: bool = True
    curve_points: int = 500


@dataclass
class EvalConfig:
    # Cohort seeds are fixed and apart from training seeds: every algorithm and training seed
    # meets the same validation and test orders, so comparisons are paired.
    test_seed: int = 1_000_003
    test_size: int = 2000
    val_seed: int = 2_000_003
    val_size: int = 500


@dataclass
class TabularAlgoConfig:
    _target_: str = MISSING
    name: str = MISSING
    alpha: float = 0.1
    gamma: float = 0.95
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_fraction: float = 0.5


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
class MechanismConfig:
    _target_: str = MISSING
    name: str = MISSING


@dataclass
class KbConfig:
    _target_: str = MISSING
    name: str = MISSING
    path: str | None = None


@dataclass
class EnvConfig:
    _target_: str = "cdss.env.CDSSEnv"
    name: str = MISSING
    max_steps: int = 4
    order_risk_share: float = 0.5


@dataclass
class Config:
    algo: Any = MISSING
    reward: RewardConfig = MISSING
    mechanism: MechanismConfig = MISSING
    kb: KbConfig = MISSING
    env: EnvConfig = MISSING
    seed: int = 0
    missing: int = 40
    n_episodes: int = 5000
    progress: bool | None = None
    from_run: str | None = None
    eval: EvalConfig = field(default_factory=EvalConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)


def register_configs() -> None:
    """Make the schemas known to Hydra; called by launch.py before composition."""
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    store.store(group="algo", name="tabular_schema", node=TabularAlgoConfig)
    store.store(group="algo", name="baseline_schema", node=BaselineAlgoConfig)
    store.store(group="reward", name="reward_schema", node=RewardConfig)
    store.store(group="mechanism", name="mechanism_schema", node=MechanismConfig)
    store.store(group="kb", name="kb_schema", node=KbConfig)
    store.store(group="env", name="env_schema", node=EnvConfig)
