"""The cdss_optuna sweeper's rules, without launching anything: budget, numbering, staleness,
and the search spaces as composed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from hydra import compose, initialize_config_dir
from optuna.trial import TrialState

from hydra_plugins.cdss_sweepers.optuna import (
    FAILURE_ATTR,
    HEARTBEAT_ATTR,
    STALE_SECONDS,
    Tally,
    consecutive_runs,
    failure_budget,
    is_abandoned,
    safe_url,
)
from tests.conftest import REPO

SPACES = sorted(p.stem for p in (REPO / "conf" / "hparams_search").glob("*.yaml"))


def frozen(state: TrialState, **attrs: str) -> optuna.trial.FrozenTrial:
    value = 1.0 if state == TrialState.COMPLETE else None
    return optuna.trial.create_trial(state=state, value=value, user_attrs=attrs)


def test_failure_budget_is_over_the_whole_study() -> None:
    assert failure_budget(n_trials=4, finished=1, max_failure_rate=0.25) == 1  # not 1/1 failed
    assert failure_budget(n_trials=4, finished=8, max_failure_rate=0.25) == 2  # study grew
    assert failure_budget(n_trials=10, finished=0, max_failure_rate=0.0) == 0


def test_tally_leaves_interrupted_and_abandoned_trials_out_of_the_failure_count() -> None:
    trials = [
        frozen(TrialState.COMPLETE),
        frozen(TrialState.FAIL, **{FAILURE_ATTR: "error"}),
        frozen(TrialState.FAIL),  # failed by another tool: counts
        frozen(TrialState.FAIL, **{FAILURE_ATTR: "abandoned"}),
        frozen(TrialState.FAIL, **{FAILURE_ATTR: "interrupted"}),
        frozen(TrialState.RUNNING),
    ]
    tally = Tally.of(trials)
    assert (tally.complete, tally.failed, tally.not_counted, tally.running) == (1, 2, 2, 1)
    assert tally.finished == 5


def test_consecutive_runs_keep_trial_numbers_as_job_numbers() -> None:
    assert list(consecutive_runs([4, 5, 6])) == [(4, 0, 3)]
    assert list(consecutive_runs([4, 6, 7])) == [(4, 0, 1), (6, 1, 3)]
    assert list(consecutive_runs([])) == []


def test_a_trial_without_a_live_sweeper_is_abandoned() -> None:
    now = time.time()
    assert is_abandoned(frozen(TrialState.RUNNING), now)  # never beat

    def beat(host: str, pid: int, age: float) -> optuna.trial.FrozenTrial:
        return frozen(TrialState.RUNNING, **{HEARTBEAT_ATTR: f"{host}:{pid}@{now - age:.0f}"})

    assert not is_abandoned(beat("here", os.getpid(), 1), now, host="here")
    assert not is_abandoned(beat("elsewhere", 1, 1), now, host="here")  # cannot check its pid
    assert is_abandoned(beat("elsewhere", 1, STALE_SECONDS + 5), now, host="here")
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()  # reaped: its pid names no process
    assert is_abandoned(beat("here", exited.pid, 1), now, host="here")


def test_storage_password_never_reaches_logs() -> None:
    assert "secret" not in safe_url("postgresql://user:secret@db/optuna")
    assert safe_url("sqlite:////tmp/optuna.db") == "sqlite:////tmp/optuna.db"
    assert safe_url(None) == "memory (not resumable)"


@pytest.mark.parametrize("space", SPACES)
def test_search_space_composes_and_searches_only_learning_keys(space: str) -> None:
    from cdss.orchestration.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"hparams_search={space}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.cdss_sweepers.optuna.CdssOptunaSweeper"
    assert sweeper.objective == "val/mean_return" and sweeper.direction == "maximize"
    assert sweeper.study_name is None  # the study is named after the space
    algo = yaml.safe_load((REPO / "conf" / "algo" / f"{cfg.algo.name}.yaml").read_text())
    searched = set(sweeper.params)
    assert searched <= {f"algo.{key}" for key in algo}
    assert {"algo.alpha", "algo.gamma", "algo.epsilon_end"} <= searched
    assert space == f"{cfg.algo.name}_optuna"

    first = (REPO / "conf" / "hparams_search" / f"{space}.yaml").read_text().splitlines()
    assert first[0] == "# @package _global_"
    assert first[1] == f"# python launch.py -m hparams_search={space}"


def test_plain_multirun_keeps_the_basic_sweeper() -> None:
    from cdss.orchestration.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", return_hydra_config=True)
    assert cfg.hydra.sweeper._target_.endswith("CdssBasicSweeper")
