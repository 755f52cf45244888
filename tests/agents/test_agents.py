"""Agents: encoders, the tabular TD agents, and the baselines on hand-built beliefs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from cdss.agents import (
    Agent,
    CautiousRuleAgent,
    DoubleQLearningAgent,
    ExpectedSarsaAgent,
    OracleAgent,
    QLearningAgent,
    RandomAgent,
    RuleBasedAgent,
    SarsaAgent,
    TabularAgent,
    encoder_for,
    n_states_of,
)
from cdss.env import N_STATES, NVEC, Action, encode

LEARNERS = (QLearningAgent, SarsaAgent, ExpectedSarsaAgent, DoubleQLearningAgent)
ALL_AGENTS = (*LEARNERS, RuleBasedAgent, CautiousRuleAgent, RandomAgent, OracleAgent)


def belief(known: int = 0, hidden_drugs: int = 0, labs: int = 0, conditions: int = 0,
           severe: int = 0, requests: int = 0) -> int:  # fmt: skip
    """The state index of a hand-built belief."""
    return encode((known, hidden_drugs, labs, conditions, severe, requests))


# --- encoders -------------------------------------------------------------------------------


def test_multidiscrete_encoding_is_ravel_multi_index() -> None:
    space = spaces.MultiDiscrete(np.array(NVEC))
    encode_observation = encoder_for(space)
    assert n_states_of(space) == N_STATES
    for index in range(0, N_STATES, 7):
        features = np.array(np.unravel_index(index, NVEC), dtype=np.int64)
        assert encode_observation(features) == index == belief(*features.tolist())
        assert encode_observation(list(features)) == index  # any sequence works, just slower


def test_discrete_encoding_is_the_identity() -> None:
    assert encoder_for(spaces.Discrete(500))(np.int64(42)) == 42
    assert encoder_for(spaces.Discrete(5, start=10))(12) == 2
    with pytest.raises(TypeError):
        encoder_for(spaces.Box(0, 1, (2,)))


# --- the tabular agents ----------------------------------------------------------------------


@pytest.mark.parametrize("agent_class", [QLearningAgent, SarsaAgent])
def test_greedy_action_is_the_best_and_ties_are_broken_by_the_seed(agent_class: type) -> None:
    agent = agent_class(4, 3, seed=0)
    agent.q[1] = [0.0, 2.0, 1.0]
    assert all(agent.act(1, greedy=True) == 1 for _ in range(20))
    agent.q[2] = [5.0, 0.0, 5.0]
    tied = [agent.act(2, greedy=True) for _ in range(200)]
    assert set(tied) == {0, 2}
    again = agent_class(4, 3, seed=0)
    again.q[2] = [5.0, 0.0, 5.0]
    assert [again.act(2, greedy=True) for _ in range(200)] == tied


def test_exploration_follows_epsilon() -> None:
    agent = QLearningAgent(2, 4, epsilon_start=1.0, epsilon_end=0.0, epsilon_decay_episodes=10)
    agent.q[0] = [0.0, 0.0, 9.0, 0.0]
    explored = np.bincount([agent.act(0) for _ in range(4000)], minlength=4) / 4000
    assert np.allclose(explored, 0.25, atol=0.03)
    for _ in range(10):
        agent.end_episode()
    assert agent.epsilon == 0.0
    assert all(agent.act(0) == 2 for _ in range(100))


def test_epsilon_decays_linearly_to_its_floor() -> None:
    agent = QLearningAgent(2, 2, epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_fraction=0.5,
                           n_episodes=100)  # fmt: skip
    assert agent.epsilon_schedule.decay_episodes == 50
    epsilons = []
    for _ in range(100):
        agent.end_episode()
        epsilons.append(agent.epsilon)
    assert epsilons[24] == pytest.approx(0.55)
    assert epsilons[49:] == [pytest.approx(0.1)] * 51


def test_q_learning_bootstraps_from_the_best_next_action() -> None:
    agent = QLearningAgent(3, 2, alpha=0.5, gamma=0.9)
    agent.q[1] = [1.0, 4.0]
    td_error = agent.update(0, 1, 1.0, 1, terminated=False, next_action=0)
    assert td_error == pytest.approx(1.0 + 0.9 * 4.0)
    assert agent.q[0, 1] == pytest.approx(0.5 * (1.0 + 3.6))
    assert agent.update(2, 0, -3.0, 1, terminated=True) == pytest.approx(-3.0)


def test_sarsa_bootstraps_from_the_action_taken() -> None:
    agent = SarsaAgent(3, 2, alpha=0.5, gamma=0.9)
    agent.q[1] = [1.0, 4.0]
    td_error = agent.update(0, 1, 1.0, 1, terminated=False, next_action=0)
    assert td_error == pytest.approx(1.0 + 0.9 * 1.0)
    assert agent.q[0, 1] == pytest.approx(0.5 * 1.9)
    with pytest.raises(ValueError):
        agent.update(0, 1, 1.0, 1, terminated=False)


def test_q_table_edits_are_seen_by_the_agent() -> None:
    agent = QLearningAgent(2, 3)
    agent.q[0, 2] = 1.0
    assert agent.act(0, greedy=True) == 2
    agent.q = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    assert agent.act(0, greedy=True) == 1
    agent.update(1, 0, 2.0, 0, terminated=True)
    assert agent.q[1, 0] == pytest.approx(0.2)
    with pytest.raises(ValueError):
        agent.q = np.zeros((3, 3))


def test_expected_sarsa_bootstraps_from_the_epsilon_greedy_mean() -> None:
    agent = ExpectedSarsaAgent(3, 2, alpha=0.5, gamma=0.9, epsilon_start=0.2, epsilon_end=0.2)
    agent.q[1] = [1.0, 4.0]
    expected = 0.2 * (1.0 + 4.0) / 2 + 0.8 * 4.0
    assert agent.update(0, 1, 1.0, 1, terminated=False) == pytest.approx(1.0 + 0.9 * expected)
    assert agent.update(2, 0, -3.0, 1, terminated=True) == pytest.approx(-3.0)


def test_double_q_learns_one_table_valued_by_the_other() -> None:
    agent = DoubleQLearningAgent(3, 2, alpha=1.0, gamma=0.5, seed=0)
    agent.load_tables({"q_a": [[0, 0], [1.0, 4.0], [0, 0]], "q_b": [[0, 0], [3.0, 2.0], [0, 0]]})
    before = agent.tables()
    td_error = agent.update(0, 0, 1.0, 1, terminated=False)
    after = agent.tables()
    learned = "q_a" if after["q_a"][0, 0] != before["q_a"][0, 0] else "q_b"
    # q_a picks action 1 (4.0), valued by q_b at 2.0; q_b picks action 0 (3.0), valued by q_a at 1.0
    assert td_error == pytest.approx(1.0 + 0.5 * (2.0 if learned == "q_a" else 1.0))
    other = "q_b" if learned == "q_a" else "q_a"
    np.testing.assert_array_equal(after[other], before[other])
    np.testing.assert_allclose(agent.q, (after["q_a"] + after["q_b"]) / 2)


def test_loading_another_algorithm_fails(tmp_path: Path) -> None:
    path = QLearningAgent(5, 3).save(tmp_path / "policy")
    assert type(TabularAgent.load(path)) is QLearningAgent
    with pytest.raises(ValueError):
        SarsaAgent.load(path)


@pytest.mark.parametrize("agent_class", ALL_AGENTS)
def test_every_agent_pickles_and_declares_itself(agent_class: type) -> None:
    agent = agent_class(n_states=N_STATES, n_actions=6, seed=3)
    clone = pickle.loads(pickle.dumps(agent))
    assert isinstance(clone, Agent)
    assert clone.name == agent.name and isinstance(agent.learns, bool)
    assert agent.learns == (agent_class in LEARNERS)
    if agent_class is not OracleAgent:
        assert agent.bind(object()) is None  # a no-op for all but the oracle


def test_seeded_block_restores_the_stream() -> None:
    agent = QLearningAgent(1, 6, seed=1)
    reference = [agent.act(0) for _ in range(50)]
    agent.reseed(1)
    head = [agent.act(0) for _ in range(20)]
    with agent.seeded(99):
        [agent.act(0) for _ in range(500)]
    assert head + [agent.act(0) for _ in range(30)] == reference


# --- baselines -------------------------------------------------------------------------------

RULE = {0: Action.APPROVE, 1: Action.APPROVE, 2: Action.WARN, 3: Action.BLOCK, 4: Action.BLOCK}


@pytest.mark.parametrize("known", range(5))
def test_rule_based_reads_the_known_severity_only(known: int) -> None:
    agent = RuleBasedAgent()
    for hidden in range(3):
        for status in range(3):
            state = belief(known, hidden, status, status, severe=2, requests=1)
            assert agent.act(state) == RULE[known]


def test_cautious_rule_warns_when_a_relevant_fact_is_hidden() -> None:
    agent = CautiousRuleAgent()
    assert agent.act(belief(known=0)) == Action.APPROVE
    assert agent.act(belief(known=1, labs=1, conditions=1)) == Action.APPROVE
    assert agent.act(belief(known=0, hidden_drugs=1)) == Action.WARN
    assert agent.act(belief(known=0, labs=2)) == Action.WARN
    assert agent.act(belief(known=1, conditions=2)) == Action.WARN
    assert agent.act(belief(known=4, labs=2)) == Action.BLOCK  # already beyond a warning
    assert agent.act(belief(known=2, hidden_drugs=2)) == Action.WARN


def test_baselines_never_request_and_never_learn() -> None:
    for agent in (RuleBasedAgent(), CautiousRuleAgent(), RandomAgent(seed=1)):
        actions = {agent.act(state) for state in range(N_STATES)}
        assert actions <= {Action.APPROVE, Action.WARN, Action.BLOCK}
        assert agent.update(0, 1, 5.0, 3, terminated=False) == 0.0
        assert not agent.learns


def test_random_is_uniform_over_the_decisions_and_seeded() -> None:
    first, second = RandomAgent(seed=5), RandomAgent(seed=5)
    assert [first.act(0) for _ in range(50)] == [second.act(0, greedy=True) for _ in range(50)]
    agent = RandomAgent(seed=5)
    shares = np.bincount([agent.act(0) for _ in range(6000)], minlength=3) / 6000
    assert np.allclose(shares, 1 / 3, atol=0.03)


def test_oracle_asks_the_bound_environment() -> None:
    class Stub:
        unwrapped = None

        def __init__(self) -> None:
            self.unwrapped = self

        def oracle_action(self) -> int:
            return Action.BLOCK

    agent = OracleAgent()
    with pytest.raises(RuntimeError):
        agent.act(0)
    agent.bind(Stub())
    assert agent.act(0) == Action.BLOCK
    assert pickle.loads(pickle.dumps(agent))._env is None  # rebind after loading


def test_baselines_refuse_another_state_layout() -> None:
    with pytest.raises(ValueError):
        RuleBasedAgent(n_states=500, n_actions=6)
