"""Opt out of usage telemetry before any library that sends it is imported."""

import os

# Each library reads its own switch; DO_NOT_TRACK is the cross-tool convention.
_OPT_OUTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
}
# Not telemetry, but noise in job logs: MLflow's download progress bars.
_QUIET = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def disable_telemetry() -> None:
    """Set every opt-out we know of, leaving values a user set explicitly untouched."""
    for key, value in {**_OPT_OUTS, **_QUIET}.items():
        os.environ.setdefault(key, value)
