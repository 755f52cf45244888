"""Behaviour with known answers: on a tiny decision problem whose optimal policy is known,
every learner reaches it through the real training loop; one seed, one Q-table."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.agents import (
    DoubleQLearningAgent,
    ExpectedSarsaAgent,
    QLearningAgent,
    SarsaAgent,
    TabularAgent,
)
from cdss.evaluation import evaluate_episodes
from cdss.training import train
from tests.agents.tiny import GAMMA, OPTIMAL_POLICY, OPTIMAL_Q, AskOrDecide, greedy

LEARNERS = (QLearningAgent, SarsaAgent, ExpectedSarsaAgent, DoubleQLearningAgent)
EPISODES = 3000


def trained(agent_class: type[TabularAgent], seed: int = 0, **kwargs: object) -> TabularAgent:
    env = AskOrDecide()
    agent = agent_class(3, 3, gamma=GAMMA, epsilon_decay_fraction=0.5, n_episodes=EPISODES,
                        seed=seed, **kwargs)  # fmt: skip
    train(env, agent, EPISODES, seed=seed)
    return agent


@pytest.mark.parametrize("agent_class", LEARNERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_learner_reaches_the_optimal_policy(agent_class: type, seed: int) -> None:
    agent = trained(agent_class, seed)
    assert greedy(agent.q) == OPTIMAL_POLICY
    metrics = evaluate_episodes(AskOrDecide(), agent, range(100))
    assert metrics["success_rate"] == 1.0
    assert metrics["mean_return"] == pytest.approx(0.9)  # ask (-0.1), then decide right (+1)


def test_q_learning_finds_the_optimal_values() -> None:
    agent = trained(QLearningAgent, alpha_schedule="linear", alpha_end=0.01)
    for (state, action), value in OPTIMAL_Q.items():
        assert agent.q[state, action] == pytest.approx(value, abs=0.05)


@pytest.mark.parametrize("agent_class", LEARNERS)
def test_optimistic_initial_values_reach_it_too(agent_class: type) -> None:
    agent = trained(agent_class, initial_q=2.0, epsilon_start=0.1, epsilon_end=0.01)
    assert greedy(agent.q) == OPTIMAL_POLICY


@pytest.mark.parametrize("agent_class", LEARNERS)
def test_one_seed_gives_one_q_table(agent_class: type) -> None:
    first, second, other = (trained(agent_class, seed) for seed in (4, 4, 5))
    for name, table in first.tables().items():
        np.testing.assert_array_equal(second.tables()[name], table)
    assert not all(np.array_equal(other.tables()[n], t) for n, t in first.tables().items())
