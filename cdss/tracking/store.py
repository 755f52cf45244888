"""One MLflow run per job, written in batches through an explicit client.

An explicit `MlflowClient` with run ids, not the fluent API's global active run, because joblib
workers run several jobs in one process and a run left active by a failed job must never swallow
the next job's metrics.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

log = logging.getLogger(__name__)

# MLflow's per-request limits for log_batch.
_MAX_PARAMS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAM_LENGTH = 6000


def resolve_tracking_uri(uri: str, base_dir: str | Path) -> str:
    """Make a relative `sqlite:///file.db` absolute against the folder the command started in.

    Jobs of a multirun may run in other processes or folders; they must all write one store.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path = Path(uri[len(prefix) :])
        if not path.is_absolute() and str(path) != ":memory:":
            return prefix + str((Path(base_dir) / path).resolve())
    return uri


def artifact_root(tracking_uri: str) -> str | None:
    """Artifacts of a SQLite store go beside its file (`mlartifacts/`), not where a job started.

    MLflow's default is `./mlruns` under the current folder, which scatters one study's
    artifacts wherever its commands happened to run. Other stores keep their own default.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri.endswith(":memory:"):
        return None
    return (Path(tracking_uri[len(prefix) :]).resolve().parent / "mlartifacts").as_uri()


def ensure_experiment(tracking_uri: str, name: str) -> str:
    """Create the store and the experiment if missing; safe when several processes race."""
    client = MlflowClient(tracking_uri)
    for attempt in range(5):
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise ValueError(
                    f"mlflow.experiment_name={name!r} names a deleted experiment in "
                    f"{tracking_uri}: restore it in the MLflow UI or choose another name"
                )
            return str(experiment.experiment_id)
        try:
            return str(
                client.create_experiment(name, artifact_location=artifact_root(tracking_uri))
            )
        except MlflowException:
            # Another process created it between our lookup and our create.
            time.sleep(0.1 * (attempt + 1))
    raise RuntimeError(f"could not create or find experiment {name!r} in {tracking_uri}")


def downsample(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin a per-episode curve into at most `max_points` means; steps are each bin's last index.

    Metrics hold the downsampled curve; the full one goes to an artifact.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n <= max_points:
        return np.arange(n), values
    edges = np.linspace(0, n, max_points + 1).astype(int)
    sums = np.add.reduceat(values, edges[:-1])
    means = sums / np.diff(edges)
    return edges[1:] - 1, means


class JobRun:
    """An MLflow run that always ends: FINISHED on success, FAILED with its error otherwise."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.parent_run_id = parent_run_id
        self._tags = dict(tags or {})
        self.client = MlflowClient(tracking_uri)
        self.resume_run_id = run_id  # reopen this run (a resumed job) instead of creating one
        self.run_id = ""

    def __enter__(self) -> JobRun:
        if self.resume_run_id:
            self.client.update_run(
                self.resume_run_id, status=RunStatus.to_string(RunStatus.RUNNING)
            )
            self.run_id = self.resume_run_id
            log.info("MLflow run %s reopened (%s)", self.run_id, self.tracking_uri)
            return self
        experiment_id = ensure_experiment(self.tracking_uri, self.experiment_name)
        tags = dict(self._tags)
        if self.run_name:
            tags[MLFLOW_RUN_NAME] = self.run_name
        if self.parent_run_id:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_run_id
        run = self.client.create_run(experiment_id, tags=tags, run_name=self.run_name)
        self.run_id = run.info.run_id
        log.info(
            "MLflow run %s in experiment %r (%s)",
            self.run_id,
            self.experiment_name,
            self.tracking_uri,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.client.set_terminated(self.run_id, RunStatus.to_string(RunStatus.FINISHED))
            return
        error = f"{exc_type.__name__ if exc_type else 'Error'}: {exc}"
        try:
            self.set_tags({"error": error[:5000]})
            self.log_text("".join(traceback.format_exception(exc_type, exc, tb)), "error.txt")
        finally:
            self.client.set_terminated(self.run_id, RunStatus.to_string(RunStatus.FAILED))
        log.error("MLflow run %s marked FAILED: %s", self.run_id, error)

    # -- writing -------------------------------------------------------------------------------

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        run_tags = [RunTag(str(k), str(v)) for k, v in tags.items()]
        self.client.log_batch(self.run_id, tags=run_tags)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params in chunks; a value too long for MLflow is cut and marked, not dropped."""
        items = []
        for key, value in params.items():
            text = "None" if value is None else str(value)
            if len(text) > _MAX_PARAM_LENGTH:
                text = text[: _MAX_PARAM_LENGTH - 3] + "..."
            items.append(Param(str(key), text))
        for start in range(0, len(items), _MAX_PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + _MAX_PARAMS_PER_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log final figures; a NaN (an undefined rate) is skipped, since MLflow would store 0."""
        timestamp = int(time.time() * 1000)
        batch = [
            Metric(key, float(value), timestamp, step)
            for key, value in metrics.items()
            if value is not None and math.isfinite(float(value))
        ]
        self._log_metric_batch(batch)

    def log_curves(
        self,
        curves: Mapping[str, np.ndarray],
        max_points: int = 500,
        steps: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Downsampled curves as metrics, one batched request per thousand points.

        A curve's steps are its indices, or the values `steps[key]` gives per point (the
        episode of each periodic validation).
        """
        timestamp = int(time.time() * 1000)
        batch: list[Metric] = []
        for key, values in curves.items():
            indices, means = downsample(values, max_points)
            given = (steps or {}).get(key)
            steps_of = indices if given is None else np.asarray(given)[indices]
            batch.extend(
                Metric(key, float(v), timestamp, int(s))
                for s, v in zip(steps_of, means, strict=True)
                if math.isfinite(v)
            )
        self._log_metric_batch(batch)

    def _log_metric_batch(self, batch: list[Metric]) -> None:
        for start in range(0, len(batch), _MAX_METRICS_PER_BATCH):
            self.client.log_batch(
                self.run_id, metrics=batch[start : start + _MAX_METRICS_PER_BATCH]
            )

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def log_artifacts(self, paths: Iterable[Path], artifact_path: str | None = None) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_files(self, files: Mapping[str, bytes | str], artifact_path: str | None = None) -> None:
        """Write in-memory files to a temporary folder and log them as one directory."""
        with tempfile.TemporaryDirectory() as tmp:
            for name, content in files.items():
                target = Path(tmp) / name
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content, encoding="utf-8")
            self.client.log_artifacts(self.run_id, tmp, artifact_path)

    def log_policy(
        self, q_table: np.ndarray, features: list[str], nvec: list[int], name: str = "policy"
    ) -> None:
        """The greedy policy as an MLflow model with a signature: observation in, action out."""
        import json

        import mlflow
        import pandas as pd
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        example = pd.DataFrame({feature: np.zeros(1, dtype=np.int64) for feature in features})
        signature = ModelSignature(
            inputs=Schema([ColSpec("long", feature) for feature in features]),
            outputs=Schema([ColSpec("long", "action")]),
        )
        with tempfile.TemporaryDirectory() as tmp:
            np.save(Path(tmp) / "q_table.npy", q_table)
            layout = Path(tmp) / "layout.json"
            layout.write_text(json.dumps({"features": features, "nvec": nvec}), encoding="utf-8")
            # The fluent log_model needs this run active: resume it for the call, and leave it
            # RUNNING, since only __exit__ decides how the job ended.
            # MLflow logs "Validating input example" at INFO on every job: noise in job logs.
            logging.getLogger("mlflow.pyfunc").setLevel(logging.WARNING)
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.start_run(run_id=self.run_id)
            try:
                mlflow.pyfunc.log_model(
                    name=name,
                    python_model=str(Path(__file__).with_name("policy_model.py")),
                    artifacts={"q_table": str(Path(tmp) / "q_table.npy"), "layout": str(layout)},
                    signature=signature,
                    input_example=example,
                    pip_requirements=["mlflow", "numpy", "pandas"],
                )
            finally:
                mlflow.end_run(status=RunStatus.to_string(RunStatus.RUNNING))


def load_policy_q_table(tracking_uri: str, run_id: str, name: str = "policy") -> np.ndarray:
    """The Q-table of the policy a run logged, through MLflow's model loader."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/{name}")
    return np.asarray(model.unwrap_python_model().q)


def load_source_run(tracking_uri: str, run_id: str) -> tuple[str, np.ndarray | None]:
    """The composed config and (for a learner) the policy's Q-table of a finished run.

    Raises ValueError naming the run when it is missing, unfinished, or has no config.
    """
    client = MlflowClient(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise ValueError(f"from_run={run_id}: no such run in {tracking_uri}") from error
    if run.info.status != "FINISHED":
        raise ValueError(f"from_run={run_id}: the run is {run.info.status}, not FINISHED")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "config.yaml", tmp)
        except (MlflowException, OSError) as error:
            raise ValueError(f"from_run={run_id}: the run has no config.yaml artifact") from error
        config_text = Path(path).read_text(encoding="utf-8")
    names = {artifact.path for artifact in client.list_artifacts(run_id)}
    has_policy = "policy" in names or any(
        model.name == "policy" for model in _logged_models(client, run)
    )
    q_table = load_policy_q_table(tracking_uri, run_id) if has_policy else None
    return config_text, q_table


def _logged_models(client: MlflowClient, run: Any) -> list[Any]:
    """Models logged by a run (MLflow 3 keeps them beside the run, not in its artifacts)."""
    try:
        return list(
            client.search_logged_models(
                experiment_ids=[run.info.experiment_id],
                filter_string=f"source_run_id = '{run.info.run_id}'",
            )
        )
    except MlflowException:
        return []
