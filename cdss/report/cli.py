"""The command line of the study report: `python -m cdss.report --help`."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cdss.report.build import run_report

log = logging.getLogger(__name__)

_SQLITE = "sqlite:///"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m cdss.report",
        description="Compare the tracked runs of a study: per-group means with 95% confidence "
        "intervals across seeds, paired tests between algorithms, and plots.",
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"),
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db "
        "in the current folder, as launch.py writes it)",
    )
    parser.add_argument(
        "--experiment",
        default=None,
        help="experiment name (default: the parent run's experiment, else 'cdss')",
    )
    parser.add_argument(
        "--out", default="reports", type=Path, help="output folder (default: ./reports)"
    )
    parser.add_argument(
        "--parent",
        default=None,
        metavar="RUN_ID",
        help="report only the jobs of this sweep parent run, and log the report to it",
    )
    parser.add_argument(
        "--no-log",
        action="store_true",
        help="write the files only; do not log them as MLflow artifacts",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; exit status 2 when the store, experiment or parent run is not found."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
    )
    from cdss.tracking.telemetry import disable_telemetry

    disable_telemetry()
    from cdss.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri, Path.cwd())
    if uri.startswith(_SQLITE) and not Path(uri[len(_SQLITE) :]).exists():
        # MLflow would create an empty store here and report an empty study.
        log.error("No MLflow store at %s: run launch.py first or pass --tracking-uri", uri)
        return 2
    try:
        outcome = run_report(uri, args.experiment, args.out, args.parent, not args.no_log)
    except ValueError as error:
        log.error("%s", error)
        return 2
    where = f"; logged to MLflow run {outcome.run_id} under report/" if outcome.run_id else ""
    print(f"Report written to {args.out / 'report.html'} and {args.out / 'report.md'}{where}")
    return 0
