"""launch.py end to end, as real subprocesses writing a real SQLite MLflow store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import FAST, REPO, launch

EVAL_METRICS = {
    "eval/detection_rate",
    "eval/severe_miss_rate",
    "eval/false_alert_rate",
    "eval/alerts_per_100",
    "eval/alert_precision",
    "eval/decision_accuracy",
    "eval/mean_return",
    "eval/requests_per_order",
}


def runs_of(tmp_path: Path, experiment: str = "cdss") -> list:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    return client.search_runs([exp.experiment_id], max_results=1000)


def children(runs: list) -> list:
    return [r for r in runs if r.data.tags.get("cdss.role") != "parent"]


def test_single_job_lands_in_mlflow(tmp_path: Path) -> None:
    result = launch([*FAST], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "detection_rate" in result.stdout  # the result table

    runs = runs_of(tmp_path)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert set(run.data.metrics) >= EVAL_METRICS
    for key in EVAL_METRICS - {
        "eval/alerts_per_100",
        "eval/mean_return",
        "eval/requests_per_order",
    }:
        assert 0.0 <= run.data.metrics[key] <= 1.0, key
    params = run.data.params
    assert params["algo.name"] == "q" and params["missing"] == "40" and params["seed"] == "0"
    for key in ("reward.name", "mechanism.name", "kb.name", "env.name", "n_episodes"):
        assert key in params
    tags = run.data.tags
    for key in (
        "git_commit",
        "cdss_version",
        "kb_hash",
        "test_cohort_seed",
        "test_cohort_size",
        "overrides",
    ):
        assert tags.get(key), key
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "overrides.yaml", "results"} <= artifacts
    results = {a.path for a in client.list_artifacts(run.info.run_id, "results")}
    assert {"results/q_table.npy", "results/curves.csv"} <= results
    history = client.get_metric_history(run.info.run_id, "train/episode_return")
    assert 1 < len(history) <= 500
    default = client.get_experiment_by_name("Default")
    if default is not None:
        assert not client.search_runs([default.experiment_id])


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_grid_lands_six_children_under_a_parent(tmp_path: Path, launcher: str) -> None:
    extra = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    result = launch(["-m", "algo=q,sarsa", "missing=20,40,60", *FAST, *extra], tmp_path)
    assert result.returncode == 0, result.stderr

    runs = runs_of(tmp_path)
    parents = [r for r in runs if r.data.tags.get("cdss.role") == "parent"]
    jobs = children(runs)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(jobs) == 6
    assert {(r.data.params["algo.name"], r.data.params["missing"]) for r in jobs} == {
        (a, m) for a in ("q", "sarsa") for m in ("20", "40", "60")
    }
    for run in jobs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert set(run.data.metrics) >= EVAL_METRICS


def test_failed_job_is_marked_and_the_others_finish(tmp_path: Path) -> None:
    shipped = REPO / "cdss" / "knowledge" / "data"
    result = launch(["-m", f"kb.path={shipped},{tmp_path / 'no_such_kb'}", *FAST], tmp_path)
    assert result.returncode != 0
    assert "1 of 2 jobs failed" in result.stderr
    assert "no_such_kb" in result.stderr

    runs = runs_of(tmp_path)
    jobs = children(runs)
    statuses = sorted(r.info.status for r in jobs)
    assert statuses == ["FAILED", "FINISHED"]
    failed = next(r for r in jobs if r.info.status == "FAILED")
    assert "no_such_kb" in failed.data.tags["error"]
    parent = next(r for r in runs if r.data.tags.get("cdss.role") == "parent")
    assert parent.info.status == "FAILED"
    assert "no_such_kb" in parent.data.tags["failed_jobs"]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("algo=qq", "algo"),
        ("n_episodes=-5", "n_episodes"),
        ("missing=150", "missing"),
        ("algo.alpha=2", "algo.alpha"),
        ("algo.alhpa=0.2", "alhpa"),
        ("misssing=20", "misssing"),
        ("env.cohort=synthea", "env.synthea_path"),
        ("reward.truncation_penalty=nan", "reward.truncation_penalty"),
    ],
)
def test_bad_override_stops_before_any_run(tmp_path: Path, override: str, named: str) -> None:
    result = launch([*FAST, override], tmp_path)
    assert result.returncode != 0
    assert named in result.stderr
    db = tmp_path / "mlflow.db"
    if db.exists():
        client = MlflowClient(f"sqlite:///{db}")
        experiments = client.search_experiments()
        assert not client.search_runs([e.experiment_id for e in experiments])


def test_same_seed_same_metrics_across_launchers(tmp_path: Path) -> None:
    args = ["-m", "algo=sarsa", "missing=40", "seed=7", *FAST]
    joblib = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    for folder, extra in (("a", []), ("b", []), ("c", joblib)):
        (tmp_path / folder).mkdir()
        result = launch([*args, *extra], tmp_path / folder)
        assert result.returncode == 0, result.stderr

    def metrics(folder: str) -> dict[str, float]:
        (run,) = children(runs_of(tmp_path / folder))
        return {k: v for k, v in run.data.metrics.items() if k.startswith(("eval/", "val/"))}

    assert metrics("a") == metrics("b") == metrics("c")


def test_from_run_evaluates_the_logged_policy_elsewhere(tmp_path: Path) -> None:
    trained = launch(["algo=q", "missing=40", *FAST], tmp_path)
    assert trained.returncode == 0, trained.stderr
    (source,) = runs_of(tmp_path)

    evaluation_only = [a for a in FAST if not a.startswith("n_episodes=")]
    result = launch(
        ["-m", f"from_run={source.info.run_id}", "missing=20,40", *evaluation_only], tmp_path
    )
    assert result.returncode == 0, result.stderr
    evaluations = [
        r
        for r in children(runs_of(tmp_path))
        if r.data.tags.get("source_run") == source.info.run_id
    ]
    assert sorted(r.data.params["missing"] for r in evaluations) == ["20", "40"]
    for run in evaluations:
        assert run.info.status == "FINISHED"
        assert run.data.params["algo.name"] == "q"
        assert run.data.tags["source_missing"] == "40"
        assert "train/episode_return" not in run.data.metrics
    # The same policy on the same cohort and rate gives the source run's own figures.
    same = next(r for r in evaluations if r.data.params["missing"] == "40")
    for key in EVAL_METRICS:
        assert same.data.metrics[key] == source.data.metrics[key], key


def test_from_run_refuses_overrides_its_source_run_decides(tmp_path: Path) -> None:
    result = launch([*FAST, "from_run=0123456789abcdef", "algo=sarsa", "seed=7"], tmp_path)
    assert result.returncode != 0
    assert "algo=sarsa" in result.stderr and "seed=7" in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_from_run_with_an_unknown_run_stops_before_any_run(tmp_path: Path) -> None:
    result = launch([*FAST, "from_run=0123456789abcdef"], tmp_path)
    assert result.returncode != 0
    assert "from_run=0123456789abcdef" in result.stderr
