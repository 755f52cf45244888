"""`python -m cdss.report` as a real subprocess on a real SQLite store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from cdss.report import search_runs, select_runs
from tests.conftest import REPO
from tests.report.conftest import EXPERIMENT, StudyStore, make_store

REPORT_FILES = {
    "report.md",
    "report.html",
    "summary.csv",
    "comparisons.csv",
    "excluded_runs.csv",
    "robustness.png",
    "learning_curves.png",
    "alerts_per_100.png",
}


def report_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-m", "cdss.report", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def artifact_names(client: MlflowClient, run_id: str) -> set[str]:
    return {Path(a.path).name for a in client.list_artifacts(run_id, "report")}


def test_cli_writes_every_file_and_logs_them_to_the_parent(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    out = tmp_path / "out"
    result = report_cli(
        [
            "--tracking-uri",
            store.uri,
            "--experiment",
            EXPERIMENT,
            "--out",
            str(out),
            "--parent",
            store.parent_id,
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert str(out / "report.html") in result.stdout
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    client = MlflowClient(store.uri)
    assert artifact_names(client, store.parent_id) == REPORT_FILES
    # No extra run: the report belongs to the sweep's parent.
    runs = client.search_runs([store.experiment_id], "tags.`cdss.role` = 'report'")
    assert runs == []


def test_cli_without_parent_logs_to_a_new_report_run(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    out = tmp_path / "out"
    (out / "stale").mkdir(parents=True)
    (out / "stale" / "old.txt").write_text("not part of this report")
    result = report_cli(["--tracking-uri", store.uri, "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    client = MlflowClient(store.uri)
    reports = client.search_runs([store.experiment_id], "tags.`cdss.role` = 'report'")
    assert len(reports) == 1
    assert reports[0].info.status == "FINISHED"
    assert artifact_names(client, reports[0].info.run_id) == REPORT_FILES  # only the report

    # The next report does not count the report run as a job, nor list it as excluded.
    study = select_runs(search_runs(store.uri, store.experiment_id))
    listed = {*study.runs["run_id"], *study.excluded["run_id"]}
    assert reports[0].info.run_id not in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--experiment", "nope"], "no experiment 'nope'"),
        (["--parent", "0" * 32], "no run"),
    ],
)
def test_cli_explains_what_it_cannot_find(
    tmp_path: Path, study_store: StudyStore, args: list[str], message: str
) -> None:
    result = report_cli(
        ["--tracking-uri", study_store.uri, "--out", str(tmp_path / "out"), *args], tmp_path
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_does_not_create_a_store_that_is_not_there(tmp_path: Path) -> None:
    result = report_cli(["--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2
    assert "No MLflow store" in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_importing_the_package_does_not_import_mlflow() -> None:
    code = "import sys, cdss.report; assert 'mlflow' not in sys.modules, 'mlflow was imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_cli_refuses_a_parent_that_is_not_a_sweep_parent(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    client = MlflowClient(store.uri)
    job = next(
        run
        for run in client.search_runs([store.experiment_id])
        if run.info.run_id != store.parent_id and "mlflow.parentRunId" in run.data.tags
    )
    out = tmp_path / "out"
    result = report_cli(
        ["--tracking-uri", store.uri, "--parent", job.info.run_id, "--out", str(out)], tmp_path
    )
    assert result.returncode == 2
    assert "not a sweep's parent run" in result.stderr
    assert not out.exists()
    assert not client.list_artifacts(job.info.run_id, "report")
