"""The job as launch.py composes it, in-process: learning to the oracle, shield, gym envs,
config checks, and where a job's checkpoints live."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import open_dict

from cdss.orchestration.job import checkpoint_path, config_hash, execute
from cdss.orchestration.validate import ConfigError, validate
from tests.training.jobs import compose_job


@pytest.fixture(scope="module")
def oracle_at_zero() -> float:
    return execute(compose_job("algo=oracle", "missing=0", "n_episodes=1")).test_metrics[
        "mean_return"
    ]


@pytest.mark.parametrize("algo", ["q", "sarsa"])
def test_without_missing_facts_learners_come_within_10_percent_of_the_oracle(
    algo: str, oracle_at_zero: float
) -> None:
    result = execute(compose_job(f"algo={algo}", "missing=0"))  # the default budget
    assert result.test_metrics["mean_return"] >= 0.9 * oracle_at_zero
    assert result.train_metrics["train/states_visited"] > 0
    assert 0 < result.train_metrics["train/states_visited_share"] <= 1
    assert result.n_states == 488  # the belief encoding's rows


def test_the_shield_is_reported_in_training_and_evaluation() -> None:
    result = execute(compose_job("algo=random", "shield=rules", "n_episodes=500",
                                 "eval.test_size=300", "eval.val_size=100"))  # fmt: skip
    assert 0 < result.test_metrics["shield_override_rate"] <= 1
    assert 0 < result.train_metrics["train/shield_override_rate"] <= 1
    unshielded = execute(compose_job("algo=random", "n_episodes=1", "eval.test_size=300"))
    assert "shield_override_rate" not in unshielded.test_metrics
    # the same random choices, minus the approvals of known severe risks
    assert result.test_metrics["detection_rate"] > unshielded.test_metrics["detection_rate"]


def test_a_gym_job_reports_returns_and_success_not_clinical_metrics() -> None:
    result = execute(compose_job("env=gym", "env.id=FrozenLake-v1", "env.kwargs.is_slippery=false",
                                 "algo=q", "algo.gamma=0.9", "n_episodes=600", "eval.test_size=20",
                                 "eval.val_size=10", "train.eval_every=200"))  # fmt: skip
    assert result.test_metrics["success_rate"] == 1.0  # the deterministic lake is easy
    assert result.test_metrics["mean_return"] == 1.0
    assert "detection_rate" not in result.test_metrics
    assert result.n_states == 16 and result.layout == (["state"], [16])
    assert list(result.val_steps) == [200, 400]  # the point at 600 is the final val metric
    assert set(result.val_curves) == {"val/mean_return", "val/success_rate"}


def test_early_stopping_through_the_config() -> None:
    result = execute(compose_job("algo=q", "n_episodes=40000", "train.eval_every=2000",
                                 "train.early_stop.patience=1", "train.early_stop.min_delta=5",
                                 "eval.val_size=100", "eval.test_size=100"))  # fmt: skip
    assert result.train_metrics["train/stopped_early"] == 1.0
    assert result.train_metrics["train/episodes"] == 4000  # no improvement of 5 at 4000


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["env=gym", "algo=rule_based"], "algo=rule_based"),
        (["env=gym", "shield=rules"], "shield=rules"),
        (["env=gym", "algo.encoding=belief"], "algo.encoding=belief"),
        (["train.early_stop.patience=3", "train.eval_every=0"], "train.eval_every"),
        (["algo.epsilon_schedule=exponential", "algo.epsilon_end=0"], "epsilon_end"),
        (["algo.alpha_end=0"], "algo.alpha_end"),
        (["train.checkpoint.every=-1"], "train.checkpoint.every"),
    ],
)
def test_settings_that_cannot_work_stop_before_any_run(overrides: list[str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        validate(compose_job(*overrides))


@pytest.mark.parametrize("override", ["algo.epsilon_schedule=cosine", "env.idd=Taxi-v3",
                                      "shield=maybe", "train.early_stop.patiense=2"])  # fmt: skip
def test_a_misspelled_setting_fails_at_composition(override: str) -> None:
    with pytest.raises(ConfigCompositionException):
        compose_job("env=gym", override) if override.startswith("env.") else compose_job(override)


def test_the_checkpoint_is_found_by_config_not_by_run_folder(tmp_path: Path) -> None:
    base = compose_job("algo=sarsa", "seed=3")
    same = compose_job("algo=sarsa", "seed=3", "resume=true", "progress=true",
                       "mlflow.experiment_name=other", "train.checkpoint.every=5")  # fmt: skip
    other = compose_job("algo=sarsa", "seed=4")
    assert config_hash(base) == config_hash(same) != config_hash(other)
    with open_dict(base):
        base.train.checkpoint.dir = str(tmp_path / "ckpt")
    path = checkpoint_path(base)
    assert path == tmp_path / "ckpt" / config_hash(base) / "last.ckpt"
