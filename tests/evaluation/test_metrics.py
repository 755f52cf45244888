"""Safety metrics on hand-made decisions, and evaluation on a fixed cohort."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from cdss.agents import (
    OracleAgent,
    QLearningAgent,
    RandomAgent,
    RuleBasedAgent,
    RuleShield,
    ShieldedAgent,
)
from cdss.env import ENV_ID, CDSSEnv
from cdss.evaluation import METRIC_NAMES, evaluate, evaluate_episodes, safety_metrics
from cdss.knowledge import load_curated
from cdss.training import train

A, W, B = 0, 1, 2  # APPROVE, WARN, BLOCK


def test_metrics_of_a_hand_made_decision_list() -> None:
    true_risk = [0, 0, 1, 2, 2, 3, 3, 4, 4, 0]
    decisions = [A, W, A, W, A, B, A, W, None, B]  # None: truncated, no decision
    returns = [2, -1, 2, 2, -3, 2, -10, -5, -10.5, -2]
    requests = [0, 1, 0, 0, 2, 1, 0, 0, 3, 0]
    metrics = safety_metrics(true_risk, decisions, returns, requests)

    # severe = {5, 6, 7, 8}: alerted 5 and 7
    assert metrics["detection_rate"] == pytest.approx(2 / 4)
    assert metrics["severe_miss_rate"] == pytest.approx(2 / 4)
    # none/minor = {0, 1, 2, 9}: alerted 1 and 9
    assert metrics["false_alert_rate"] == pytest.approx(2 / 4)
    # alerts = {1, 3, 5, 7, 9}: 5 of 10 orders, 3 of them moderate or worse
    assert metrics["alerts_per_100"] == pytest.approx(50.0)
    assert metrics["alert_precision"] == pytest.approx(3 / 5)
    # right action: 0 (A), 2 (A), 3 (W), 5 (B) -> 4 of 10
    assert metrics["decision_accuracy"] == pytest.approx(0.4)
    assert metrics["mean_return"] == pytest.approx(np.mean(returns))
    assert metrics["requests_per_order"] == pytest.approx(0.7)
    assert (metrics["n_orders"], metrics["n_severe"]) == (10, 4)
    assert metrics["risk_share_none"] == pytest.approx(0.3)
    assert metrics["risk_share_contraindicated"] == pytest.approx(0.2)
    assert set(METRIC_NAMES) <= set(metrics)


def test_undefined_rates_are_nan_not_zero() -> None:
    metrics = safety_metrics([0, 1, 2], [A, A, A])
    assert math.isnan(metrics["detection_rate"]) and math.isnan(metrics["severe_miss_rate"])
    assert math.isnan(metrics["alert_precision"])  # no alert at all
    assert metrics["false_alert_rate"] == 0.0 and metrics["n_severe"] == 0
    assert math.isnan(metrics["mean_return"])  # not given
    assert math.isnan(safety_metrics([4], [B])["false_alert_rate"])


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        safety_metrics([0, 1], [A])


@pytest.fixture(scope="module")
def env() -> CDSSEnv:
    return CDSSEnv(kb=load_curated(), missing=40)


def test_the_oracle_is_the_ceiling(env: CDSSEnv) -> None:
    cohort = env.make_cohort(seed=3, size=500)
    metrics = evaluate(env, OracleAgent(), cohort)
    assert metrics["decision_accuracy"] == 1.0 and metrics["detection_rate"] == 1.0
    assert metrics["false_alert_rate"] == 0.0 and metrics["mean_return"] == 2.0
    assert metrics["requests_per_order"] == 0.0 and metrics["n_orders"] == 500
    mix = [metrics[f"risk_share_{level}"] for level in cohort.risk_mix()]
    assert mix == pytest.approx(list(cohort.risk_mix().values()))


def test_evaluation_is_deterministic_and_leaves_training_alone(env: CDSSEnv) -> None:
    cohort = env.make_cohort(seed=4, size=400)
    agent = QLearningAgent(env.n_belief_states, 6, seed=0)  # all ties: greedy is random
    state = agent._rng.bit_generator.state, agent._next_uniform
    first = evaluate(env, agent, cohort)
    assert (agent._rng.bit_generator.state, agent._next_uniform) == state
    assert evaluate(env, agent, cohort) == first
    random_first = evaluate(env, RandomAgent(seed=1), cohort)
    assert evaluate(env, RandomAgent(seed=1), cohort) == random_first


def test_evaluation_through_gymnasium_make(env: CDSSEnv) -> None:
    wrapped = gym.make(ENV_ID, kb=env.kb, missing=40)
    cohort = env.make_cohort(seed=5, size=300)
    agent = QLearningAgent(env.n_belief_states, 6, seed=0)
    train(env, agent, 1000, seed=0)
    assert evaluate(wrapped, agent, cohort) == evaluate(env, agent, cohort)
    assert evaluate(wrapped, RuleBasedAgent(), cohort)["requests_per_order"] == 0.0


def test_episode_evaluation_of_a_gym_env_is_seeded_and_generic() -> None:
    from cdss.training import make_env

    lake = make_env("FrozenLake-v1", {"is_slippery": True})
    agent = QLearningAgent(16, 4, seed=0)  # all ties: a random walk, seeded
    first = evaluate_episodes(lake, agent, range(100, 150))
    assert evaluate_episodes(lake, agent, range(100, 150)) == first
    assert set(first) == {"mean_return", "success_rate", "mean_length", "n_episodes"}
    assert first["n_episodes"] == 50 and 0 <= first["success_rate"] <= 1
    assert first["success_rate"] == first["mean_return"]  # FrozenLake pays 1 at the goal only


def test_episode_evaluation_adds_clinical_metrics_where_the_env_reports_them(
    env: CDSSEnv,
) -> None:
    wrapped = gym.make(ENV_ID, kb=env.kb, missing=40, cohort_batch=64)
    metrics = evaluate_episodes(wrapped, RuleBasedAgent(), range(20))
    assert {"detection_rate", "false_alert_rate", "mean_return", "success_rate"} <= set(metrics)
    assert metrics["requests_per_order"] == 0.0


def test_a_shielded_agent_reports_its_override_rate(env: CDSSEnv) -> None:
    cohort = env.make_cohort(seed=6, size=300)
    shielded = ShieldedAgent(RandomAgent(seed=2), RuleShield())
    metrics = evaluate(env, shielded, cohort)
    assert 0 < metrics["shield_override_rate"] < 1
    assert evaluate(env, shielded, cohort) == metrics  # its own count, every time
    assert shielded.tally.overrides == 0  # evaluation leaves the training count alone
    assert "shield_override_rate" not in evaluate(env, RandomAgent(seed=2), cohort)
