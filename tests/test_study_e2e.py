"""A grid from launch.py, then the report from its parent run: the whole study path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from scipy import stats

from tests.conftest import FAST, launch
from tests.report.test_cli import report_cli


def test_grid_then_report_matches_a_recomputation(tmp_path: Path) -> None:
    grid = ["-m", "algo=q,rule_based", "missing=20,40", "seed=0,1,2", *FAST]
    result = launch([*grid, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], tmp_path)
    assert result.returncode == 0, result.stderr

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("cdss")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`cdss.role` = 'parent'")
    out = tmp_path / "report"
    report = report_cli(
        ["--tracking-uri", uri, "--parent", parent.info.run_id, "--out", str(out)], tmp_path
    )
    assert report.returncode == 0, report.stderr
    for name in ("report.md", "report.html", "summary.csv", "comparisons.csv", "robustness.png"):
        assert (out / name).stat().st_size > 0, name

    # Recompute one cell from the runs themselves.
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs([experiment.experiment_id])
    jobs = runs[runs["tags.cdss.role"].isna()] if "tags.cdss.role" in runs else runs
    cell = jobs[(jobs["params.algo.name"] == "q") & (jobs["params.missing"] == "40")]
    values = cell["metrics.eval/detection_rate"].to_numpy(dtype=float)
    assert len(values) == 3
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))

    summary = pd.read_csv(out / "summary.csv")
    row = summary[(summary["algo.name"] == "q") & (summary["missing"].astype(str) == "40")]
    assert len(row) == 1
    reported = row[["detection_rate_mean", "detection_rate_ci_low", "detection_rate_ci_high"]]
    assert np.allclose(reported.to_numpy(dtype=float).ravel(), [values.mean(), low, high])
