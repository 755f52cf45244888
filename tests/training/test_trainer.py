"""The training loop: determinism, on-policy vs off-policy updates, and learning to a bar."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.agents import OracleAgent, QLearningAgent, RandomAgent, RuleBasedAgent, SarsaAgent
from cdss.env import CDSSEnv
from cdss.evaluation import evaluate
from cdss.knowledge import KnowledgeBase, load_curated
from cdss.training import TrainingHistory, train

TEST_SEED, TEST_SIZE = 1_000_003, 2000


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_curated()


def q_agent(env: CDSSEnv, n_episodes: int, agent_class: type = QLearningAgent, seed: int = 0):
    return agent_class(env.n_belief_states, int(env.action_space.n), seed=seed,
                       epsilon_decay_fraction=0.5, n_episodes=n_episodes)  # fmt: skip


def test_history_holds_one_entry_per_episode(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, missing=40)
    calls: list[int] = []
    history = train(env, q_agent(env, 1000), 1000, seed=0, on_progress=calls.append)
    assert isinstance(history, TrainingHistory) and history.n_episodes == 1000
    for curve in (history.returns, history.lengths, history.epsilons, history.td_errors):
        assert curve.shape == (1000,) and np.isfinite(curve).all()
    assert history.lengths.min() >= 1 and history.lengths.max() <= env.max_steps
    assert history.epsilons[0] == 1.0 and np.all(np.diff(history.epsilons) <= 0)
    assert (history.td_errors >= 0).all() and history.states_visited > 10
    assert len(calls) == 100 and calls[-1] == 1000 and calls == sorted(calls)


def test_same_seed_same_q_table(kb: KnowledgeBase) -> None:
    tables, returns = [], []
    for _ in range(2):
        env = CDSSEnv(kb=kb, missing=40)
        agent = q_agent(env, 2000)
        history = train(env, agent, 2000, seed=5)
        tables.append(agent.q.copy())
        returns.append(history.returns)
    np.testing.assert_array_equal(tables[0], tables[1])
    np.testing.assert_array_equal(returns[0], returns[1])

    env = CDSSEnv(kb=kb, missing=40)
    agent = q_agent(env, 2000)
    train(env, agent, 2000, seed=6)
    assert not np.array_equal(agent.q, tables[0])


def test_q_learning_and_sarsa_differ_on_the_same_seed(kb: KnowledgeBase) -> None:
    tables = {}
    for agent_class in (QLearningAgent, SarsaAgent):
        env = CDSSEnv(kb=kb, missing=40)
        agent = q_agent(env, 2000, agent_class)
        train(env, agent, 2000, seed=0)
        tables[agent_class.name] = agent.q
    assert not np.allclose(tables["q"], tables["sarsa"])


def test_baselines_run_through_the_same_loop(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, missing=40)
    history = train(env, RandomAgent(seed=0), 500, seed=0)
    assert (history.lengths == 1).all() and (history.td_errors == 0).all()


def test_training_is_fast_enough(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, missing=40)
    history = train(env, q_agent(env, 5000), 5000, seed=0)
    assert history.episodes_per_second > 8000


def test_without_missing_facts_q_learning_matches_the_oracle(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, missing=0)
    cohort = env.make_cohort(TEST_SEED, TEST_SIZE)
    agent = q_agent(env, 5000)
    train(env, agent, 5000, seed=0)
    learned = evaluate(env, agent, cohort)["decision_accuracy"]
    ceiling = evaluate(env, OracleAgent(), cohort)["decision_accuracy"]
    assert ceiling == 1.0
    assert learned >= ceiling - 0.05


def test_with_missing_facts_q_learning_detects_more_than_the_checker(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, missing=40)
    cohort = env.make_cohort(TEST_SEED, TEST_SIZE)
    agent = q_agent(env, 20_000)
    train(env, agent, 20_000, seed=0)
    learned = evaluate(env, agent, cohort)
    checker = evaluate(env, RuleBasedAgent(), cohort)
    assert learned["detection_rate"] > checker["detection_rate"] + 0.1
    assert learned["mean_return"] > checker["mean_return"]


def test_convergence_episode_finds_the_plateau() -> None:
    returns = np.concatenate([np.linspace(-5, 2, 1000), np.full(2000, 2.0)])
    history = TrainingHistory(returns, np.ones(3000), np.zeros(3000), np.zeros(3000))
    assert 900 <= history.convergence_episode(window=100) <= 1100
    assert TrainingHistory(returns[:10], *(np.ones(10),) * 3).convergence_episode() == -1


def test_truncation_bootstraps_only_when_asked() -> None:
    from tests.agents.tiny import ASK, UNKNOWN, AskOrDecide

    class AlwaysAsk(QLearningAgent):
        def act(self, state: int, greedy: bool = False) -> int:
            return ASK

    tables = {}
    for bootstrap in (False, True):
        agent = AlwaysAsk(3, 3, alpha=1.0, gamma=0.5, initial_q=4.0, seed=0)
        train(AskOrDecide(max_steps=1), agent, 1, seed=0, bootstrap_truncated=bootstrap)
        tables[bootstrap] = agent.q[UNKNOWN, ASK]
    assert tables[False] == pytest.approx(-0.1)  # the step limit ends it: no future value
    assert tables[True] == pytest.approx(-0.1 + 0.5 * 4.0)  # a time limit: bootstrap
