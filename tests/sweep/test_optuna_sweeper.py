"""The cdss_optuna sweeper end to end: real launch.py subprocesses, a real SQLite study and store.

Each test starts the command from its own tmp_path, where optuna.db and mlflow.db land.
"""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import REPO, launch

# Smaller than tests.conftest.FAST: a sweep runs several jobs per subprocess.
SMALL = ["n_episodes=200", "eval.test_size=100", "eval.val_size=50", "progress=false"]
SEARCH = ["-m", "hparams_search=q_optuna", *SMALL]
GOOD_KB = REPO / "cdss" / "knowledge" / "data"
TEST_CONF = Path(__file__).resolve().parent / "conf"  # reward=nan_table

optuna.logging.set_verbosity(optuna.logging.WARNING)


def study_of(cwd: Path, name: str = "q_optuna") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{cwd / 'optuna.db'}")


def mlflow_runs(cwd: Path) -> tuple[list, list]:
    """(parent runs, child runs) of the experiment `cdss`, oldest first."""
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cdss")
    assert experiment is not None
    runs = client.search_runs(
        [experiment.experiment_id], max_results=1000, order_by=["attributes.start_time ASC"]
    )
    parents = [r for r in runs if r.data.tags.get("cdss.role") == "parent"]
    return parents, [r for r in runs if r.data.tags.get("cdss.role") != "parent"]


def by_trial(children: list) -> dict[int, object]:
    return {int(r.data.tags["optuna.trial_number"]): r for r in children}


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.trials]


def enqueue(cwd: Path, *trials: dict[str, str]) -> None:
    """Fix the categorical choices of the next trials, so which ones fail is known."""
    study = optuna.create_study(
        study_name="q_optuna", storage=f"sqlite:///{cwd / 'optuna.db'}", direction="maximize"
    )
    for params in trials:
        study.enqueue_trial(params)


def test_rerun_adds_only_the_missing_trials(tmp_path: Path) -> None:
    sweep = ["hydra.sweep.dir=sweep"]  # one folder for both runs: nothing may be overwritten
    first = launch([*SEARCH, *sweep, "hydra.sweeper.n_trials=4"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert [t.number for t in study_of(tmp_path).trials] == list(range(4))
    trial_0 = (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text()

    second = launch([*SEARCH, *sweep, "hydra.sweeper.n_trials=6"], tmp_path)
    assert second.returncode == 0, second.stderr
    study = study_of(tmp_path)
    assert [t.number for t in study.trials] == list(range(6))
    assert states(study) == ["COMPLETE"] * 6
    assert (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text() == trial_0
    assert {p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()} == {
        str(n) for n in range(6)
    }
    for number in range(6):  # the trial number is the job number and the job's folder
        hydra_cfg = yaml.safe_load(
            (tmp_path / "sweep" / str(number) / ".hydra" / "hydra.yaml").read_text()
        )["hydra"]
        assert hydra_cfg["job"]["num"] == number
        assert hydra_cfg["job"]["env_set"]["CDSS_OPTUNA_TRIAL_NUMBER"] == str(number)

    parents, children = mlflow_runs(tmp_path)
    assert [p.info.status for p in parents] == ["FINISHED", "FINISHED"]
    assert len(children) == 6
    runs = by_trial(children)
    assert sorted(runs) == list(range(6))
    for number, run in runs.items():
        parent = parents[0] if number < 4 else parents[1]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.status == "FINISHED"
        trial = study.trials[number]
        assert math.isclose(float(run.data.params["algo.alpha"]), trial.params["algo.alpha"])
        assert math.isclose(run.data.metrics["val/mean_return"], trial.value)

    best = study.best_trial
    summary = parents[1].data
    assert math.isclose(summary.metrics["best/val/mean_return"], best.value)
    assert math.isclose(float(summary.params["best.algo.alpha"]), best.params["algo.alpha"])
    assert summary.tags["optuna.best_trial_number"] == str(best.number)
    assert summary.tags["optuna.study_name"] == "q_optuna"
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(best.value)
    assert results["best_params"] == pytest.approx(best.params)


def test_joblib_runs_two_trials_at_a_time(tmp_path: Path) -> None:
    parallel = ["hydra.sweeper.n_jobs=2", "hydra/launcher=joblib", "hydra.sweeper.n_trials=4"]
    result = launch([*SEARCH, *parallel], tmp_path)
    assert result.returncode == 0, result.stderr
    trials = study_of(tmp_path).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    for first, second in ((0, 1), (2, 3)):  # asked together, launched together
        assert trials[second].datetime_start < trials[first].datetime_complete
    assert result.stdout.count("is launching 2 jobs") == 2  # joblib's own log line

    (parent,), children = mlflow_runs(tmp_path)
    assert sorted(by_trial(children)) == [0, 1, 2, 3]
    assert all(r.info.status == "FINISHED" for r in children)
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)


def test_failed_trials_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    bad_kb = tmp_path / "no_such_kb"
    good = {"kb.path": str(GOOD_KB), "reward": "default"}
    enqueue(
        tmp_path,
        good,
        {"kb.path": str(bad_kb), "reward": "default"},  # the task raises
        {"kb.path": str(GOOD_KB), "reward": "nan_table"},  # the task returns NaN
        good,
    )
    space = [
        f"hydra.searchpath=[file://{TEST_CONF}]",
        f"kb.path=choice({GOOD_KB},{bad_kb})",
        "reward=choice(default,nan_table)",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.max_failure_rate=0.5",  # 2 of 4 failing is allowed
    ]
    result = launch([*SEARCH, *space], tmp_path)
    assert result.returncode == 0, result.stderr

    study = study_of(tmp_path)
    assert states(study) == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    assert study.trials[1].values is None and study.trials[2].values is None
    assert "no_such_kb" in study.trials[1].user_attrs["cdss.error"]
    assert "nan" in study.trials[2].user_attrs["cdss.error"]

    (parent,), children = mlflow_runs(tmp_path)
    runs = by_trial(children)
    assert [runs[n].info.status for n in range(4)] == ["FINISHED", "FAILED", "FAILED", "FINISHED"]
    assert "no_such_kb" in runs[1].data.tags["error"]
    assert "val/mean_return is nan" in runs[2].data.tags["error"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["n_failed_trials"] == "2"


def test_too_many_failures_stop_the_sweep(tmp_path: Path) -> None:
    bad_kb = tmp_path / "no_such_kb"
    enqueue(tmp_path, {"kb.path": str(bad_kb)}, {"kb.path": str(GOOD_KB)}, {"kb.path": str(bad_kb)})
    space = [f"kb.path=choice({GOOD_KB},{bad_kb})", "hydra.sweeper.n_trials=4"]
    result = launch([*SEARCH, *space], tmp_path)  # max_failure_rate 0.25: 1 of 4 may fail

    assert result.returncode != 0
    assert "Stopped study 'q_optuna': 2 failed trials exceed max_failure_rate=0.25" in (
        result.stderr
    )
    assert "trial #2 (" in result.stderr and "no_such_kb" in result.stderr
    assert "Traceback" not in result.stderr
    assert states(study_of(tmp_path)) == ["FAIL", "COMPLETE", "FAIL"]  # trial 3 never ran

    (parent,), children = mlflow_runs(tmp_path)
    assert parent.info.status == "FAILED"
    assert "trial #0" in parent.data.tags["failed_jobs"]
    assert "trial #2" in parent.data.tags["failed_jobs"]
    assert sorted(r.info.status for r in children) == ["FAILED", "FAILED", "FINISHED"]


def test_trial_left_running_by_a_crash_is_failed_on_resume(tmp_path: Path) -> None:
    study = optuna.create_study(
        study_name="q_optuna", storage=f"sqlite:///{tmp_path / 'optuna.db'}", direction="maximize"
    )
    study.ask()  # as a sweep killed mid-trial leaves it
    assert states(study) == ["RUNNING"]

    result = launch([*SEARCH, "hydra.sweeper.n_trials=2"], tmp_path)
    assert result.returncode == 0, result.stderr  # an abandoned trial is no verdict on the space
    study = study_of(tmp_path)
    assert states(study) == ["FAIL", "COMPLETE"]
    assert study.trials[0].user_attrs["cdss.failure"] == "abandoned"


def test_dry_run_shows_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    result = launch([*SEARCH, "hydra.sweeper.dry_run=true"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Dry run of study 'q_optuna'" in out
    assert f"sqlite:///{tmp_path.resolve() / 'optuna.db'}" in out
    for key in ("algo.alpha", "algo.gamma", "algo.epsilon_end", "algo.epsilon_decay_fraction"):
        assert key in out
    assert "0 finished" in out and "40 to run of n_trials=40" in out
    assert not list(tmp_path.iterdir())  # no study, no MLflow store, no output folder
