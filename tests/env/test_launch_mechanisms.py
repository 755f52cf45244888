"""Issue 4 from the command line: the missing-by-mechanism grid (nine jobs, each an MLflow run),
and a Synthea cohort with the conservative and fuzzy rewards."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from cdss.env import RISK_LEVELS
from tests.conftest import FAST, launch, shared_path


def test_missing_by_mechanism_grid_lands_nine_runs(tmp_path: Path) -> None:
    result = launch(
        ["-m", "missing=20,40,60", "mechanism=mcar,mar,mnar", *FAST], tmp_path, timeout=900
    )
    assert result.returncode == 0, result.stderr[-4000:]

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cdss")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    jobs = [run for run in runs if run.data.tags.get("cdss.role") != "parent"]
    assert len(jobs) == 9
    grid = {(run.data.params["mechanism.name"], run.data.params["missing"]) for run in jobs}
    assert grid == {(m, str(p)) for m in ("mcar", "mar", "mnar") for p in (20, 40, 60)}
    for run in jobs:
        assert run.info.status == "FINISHED"
        metrics = run.data.metrics
        shares = [metrics[f"eval/risk_share_{level}"] for level in RISK_LEVELS]
        assert abs(sum(shares) - 1) < 1e-6  # the test cohort's order mix is logged
        assert 0 <= metrics["eval/detection_rate"] <= 1
        assert run.data.params["env.cohort"] == "generated"


def test_synthea_cohort_and_reward_variants_run_from_the_command_line(tmp_path: Path) -> None:
    synthea = shared_path("data", "synthea_nguyen59")
    result = launch(
        ["-m", "reward=conservative,fuzzy", "env.cohort=synthea", f"env.synthea_path={synthea}",
         "mechanism=mnar", *FAST],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cdss")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    jobs = [run for run in runs if run.data.tags.get("cdss.role") != "parent"]
    assert sorted(run.data.params["reward.name"] for run in jobs) == ["conservative", "fuzzy"]
    for run in jobs:
        assert run.info.status == "FINISHED"
        assert run.data.params["env.cohort"] == "synthea"
        assert run.data.params["env.synthea_path"] == str(synthea)
