"""MLflow tracking: the only package that imports MLflow, and only when a run starts."""

from cdss.tracking.telemetry import disable_telemetry

disable_telemetry()

from cdss.tracking.store import (  # noqa: E402  (telemetry must be off before MLflow loads)
    JobRun,
    ensure_experiment,
    load_source_run,
    resolve_tracking_uri,
)

__all__ = [
    "JobRun",
    "disable_telemetry",
    "ensure_experiment",
    "load_source_run",
    "resolve_tracking_uri",
]
