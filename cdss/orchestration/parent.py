"""The parent MLflow run of a multirun or sweep: opened before the first job, always closed.

Jobs learn its id from the environment variable below, which launcher worker processes inherit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

log = logging.getLogger(__name__)

PARENT_RUN_ENV = "CDSS_PARENT_RUN_ID"
_TRACKING_URI_ENV = "CDSS_PARENT_TRACKING_URI"


def tracking_uri_of(cfg: DictConfig) -> str:
    """The config's tracking URI, a relative SQLite path made absolute against the start folder."""
    from cdss.tracking import resolve_tracking_uri

    return resolve_tracking_uri(str(cfg.mlflow.tracking_uri), Path.cwd())


def open_parent(cfg: DictConfig, sweep_dir: str, overrides: Sequence[str]) -> str | None:
    """Create the tracking store, the experiment and the parent run, before any job starts.

    Creating the store here, once, keeps parallel jobs from racing to create its tables.
    """
    if not cfg.mlflow.enabled or os.environ.get(PARENT_RUN_ENV):
        return os.environ.get(PARENT_RUN_ENV)
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

    from cdss.tracking import ensure_experiment

    uri = tracking_uri_of(cfg)
    experiment_id = ensure_experiment(uri, str(cfg.mlflow.experiment_name))
    name = "sweep-" + Path(sweep_dir).name
    tags = {
        MLFLOW_RUN_NAME: name,
        "cdss.role": "parent",
        "sweep_dir": str(sweep_dir),
        "sweep_overrides": " ".join(overrides),
    }
    run = MlflowClient(uri).create_run(experiment_id, tags=tags, run_name=name)
    os.environ[PARENT_RUN_ENV] = run.info.run_id
    os.environ[_TRACKING_URI_ENV] = uri
    log.info("Sweep parent run %s in experiment %r", run.info.run_id, cfg.mlflow.experiment_name)
    return run.info.run_id


def close_parent(failed: Sequence[str] = ()) -> None:
    """End the parent run: FINISHED when every job finished, FAILED listing the failed jobs."""
    run_id = os.environ.pop(PARENT_RUN_ENV, None)
    uri = os.environ.pop(_TRACKING_URI_ENV, None)
    if not run_id or not uri:
        return
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    if failed:
        client.set_tag(run_id, "failed_jobs", "\n".join(failed)[:5000])
        client.set_tag(run_id, "n_failed_jobs", str(len(failed)))
    client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
