"""Hydra callbacks that bracket a multirun with its parent MLflow run."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from cdss.orchestration.parent import close_parent, open_parent


class MlflowParentRun(Callback):
    """Open the parent run before the fan-out; close it when the sweep ends.

    Hydra skips `on_multirun_end` when a job raised, so our sweepers close a failed sweep's
    parent themselves; here it is closed only on the way out of a successful one.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.sweeper.get("dry_run"):
            return  # a dry run of the Optuna sweeper launches nothing to track
        # HydraConfig is set only per job, after this callback: read the composed config.
        overrides = list(config.hydra.overrides.task)
        open_parent(config, str(config.hydra.sweep.dir), overrides)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        close_parent()
