"""Compose the real job config (conf/) in-process, as launch.py would, without tracking."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from cdss.orchestration.schema import register_configs
from tests.conftest import REPO

QUIET = ["mlflow.enabled=false", "progress=false", "train.checkpoint.every=0"]


def compose_job(*overrides: str) -> DictConfig:
    """The composed config of `python launch.py <overrides>` with tracking and checkpoints off."""
    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*QUIET, *overrides])
