"""One contract every agent keeps, run on each: valid actions, seeded greedy choices,
update shapes, pickling; and for the tabular learners: ties, epsilon bounds, save and load."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from cdss.agents import (
    SCHEDULES,
    Agent,
    CautiousRuleAgent,
    DoubleQLearningAgent,
    ExpectedSarsaAgent,
    OracleAgent,
    QLearningAgent,
    RandomAgent,
    RuleBasedAgent,
    RuleShield,
    SarsaAgent,
    ShieldedAgent,
    TabularAgent,
)
from cdss.agents.belief import belief_rows
from cdss.env import N_STATES
from cdss.env.actions import N_ACTIONS

LEARNERS: tuple[type[TabularAgent], ...] = (
    QLearningAgent,
    SarsaAgent,
    ExpectedSarsaAgent,
    DoubleQLearningAgent,
)


class _FixedOracleEnv:
    """What the oracle binds to: the truth says BLOCK."""

    unwrapped = None

    def __init__(self) -> None:
        self.unwrapped = self

    def oracle_action(self) -> int:
        return 2


def _oracle(seed: int) -> Agent:
    agent = OracleAgent(seed=seed)
    agent.bind(_FixedOracleEnv())
    return agent


# Every agent the config can build, on the prescription env's state space.
FACTORIES: dict[str, Callable[[int], Agent]] = {
    **{cls.name: (lambda seed, cls=cls: cls(N_STATES, N_ACTIONS, seed=seed)) for cls in LEARNERS},
    "q_belief": lambda seed: QLearningAgent(
        N_STATES, N_ACTIONS, state_map=belief_rows(), seed=seed
    ),
    "double_q_belief": lambda seed: DoubleQLearningAgent(
        N_STATES, N_ACTIONS, state_map=belief_rows(), seed=seed
    ),
    "rule_based": lambda seed: RuleBasedAgent(seed=seed),
    "cautious_rule": lambda seed: CautiousRuleAgent(seed=seed),
    "random": lambda seed: RandomAgent(seed=seed),
    "oracle": _oracle,
    "shielded_q": lambda seed: ShieldedAgent(
        QLearningAgent(N_STATES, N_ACTIONS, seed=seed), RuleShield()
    ),
    "shielded_random": lambda seed: ShieldedAgent(RandomAgent(seed=seed), RuleShield()),
}


def _trained(agent: Agent, steps: int = 3000, seed: int = 0) -> Agent:
    """Feed random transitions so that a learner's tables are no longer uniform."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        state, next_state = (int(x) for x in rng.integers(0, agent.n_states, 2))
        action = agent.act(state)
        terminated = bool(rng.random() < 0.5)
        next_action = None if terminated else agent.act(next_state)
        agent.update(state, action, float(rng.normal()), next_state, terminated, next_action)
    return agent


def _greedy_actions(agent: Agent, seed: int = 7) -> list[int]:
    with agent.seeded(seed):
        return [agent.act(state, greedy=True) for state in range(agent.n_states)]


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest) -> Callable[[int], Agent]:
    return FACTORIES[request.param]


# --- every agent --------------------------------------------------------------------------


def test_actions_are_valid_in_every_state(make: Callable[[int], Agent]) -> None:
    agent = _trained(make(0))
    for greedy in (True, False):
        actions = {agent.act(state, greedy=greedy) for state in range(agent.n_states)}
        assert all(isinstance(a, int) and 0 <= a < agent.n_actions for a in actions)


def test_greedy_choices_are_seeded_and_leave_the_stream_alone(
    make: Callable[[int], Agent],
) -> None:
    agent = _trained(make(3))
    assert _greedy_actions(agent) == _greedy_actions(agent)
    twin = _trained(make(3))
    assert _greedy_actions(twin) == _greedy_actions(agent)
    ahead = [agent.act(s) for s in range(50)]
    assert [twin.act(s) for s in range(50)] == ahead  # evaluation did not shift either stream


def test_update_keeps_shapes_and_returns_a_td_error(make: Callable[[int], Agent]) -> None:
    agent = _trained(make(1))
    before = {k: v.copy() for k, v in agent.tables().items()} if agent.learns else {}
    td_error = agent.update(5, 1, 2.0, 9, terminated=True)
    assert isinstance(td_error, float) and math.isfinite(td_error)
    if not agent.learns:
        assert td_error == 0.0
        return
    after = agent.tables()
    assert {k: v.shape for k, v in after.items()} == {k: v.shape for k, v in before.items()}
    changed = sum(int((after[k] != before[k]).sum()) for k in after)
    assert changed == (1 if td_error != 0 else 0)  # one cell of one table, nothing else


def test_pickle_round_trip_keeps_the_policy(make: Callable[[int], Agent]) -> None:
    agent = _trained(make(2))
    clone = pickle.loads(pickle.dumps(agent))
    if clone.name == "oracle":
        clone.bind(_FixedOracleEnv())  # the environment is not pickled
    assert _greedy_actions(clone) == _greedy_actions(agent)
    assert clone.name == agent.name and isinstance(clone.learns, bool)


# --- the tabular learners -----------------------------------------------------------------


@pytest.mark.parametrize("agent_class", LEARNERS)
def test_greedy_ties_are_broken_by_the_seeded_generator(agent_class: type[TabularAgent]) -> None:
    def ties(seed: int) -> list[int]:
        agent = agent_class(3, 4, seed=seed, initial_q=1.0)  # every action ties everywhere
        return [agent.act(1, greedy=True) for _ in range(200)]

    assert set(ties(0)) == {0, 1, 2, 3}  # not always the first action (APPROVE)
    assert ties(0) == ties(0)
    assert ties(0) != ties(1)


@pytest.mark.parametrize("agent_class", LEARNERS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_epsilon_stays_within_its_bounds(agent_class: type[TabularAgent], schedule: str) -> None:
    agent = agent_class(2, 3, epsilon_start=0.9, epsilon_end=0.1, epsilon_schedule=schedule,
                        epsilon_decay_episodes=50)  # fmt: skip
    epsilons = [agent.epsilon]
    for _ in range(120):
        agent.end_episode()
        epsilons.append(agent.epsilon)
    assert all(0.1 - 1e-12 <= e <= 0.9 + 1e-12 for e in epsilons)
    assert all(later <= earlier + 1e-12 for earlier, later in pairwise(epsilons))
    assert epsilons[0] == pytest.approx(0.9)
    assert epsilons[-1] == pytest.approx(0.9 if schedule == "constant" else 0.1)
    explored = [agent_class(2, 3, epsilon_start=e, epsilon_end=e, seed=0) for e in (0.0, 1.0)]
    for table_agent in explored:
        table_agent.load_tables({k: np.tile([0.0, 1.0, 0.0], (2, 1)) for k in table_agent.tables()})
    assert {explored[0].act(0) for _ in range(100)} == {1}  # epsilon 0: always greedy
    assert {explored[1].act(0) for _ in range(300)} == {0, 1, 2}  # epsilon 1: uniform


@pytest.mark.parametrize("agent_class", LEARNERS)
@pytest.mark.parametrize("aggregated", [False, True])
def test_save_and_load_round_trip(
    tmp_path: Path, agent_class: type[TabularAgent], aggregated: bool
) -> None:
    state_map = belief_rows() if aggregated else None
    agent = agent_class(N_STATES, N_ACTIONS, alpha=0.3, gamma=0.8, epsilon_decay_episodes=40,
                        alpha_schedule="linear", alpha_end=0.05, alpha_decay_episodes=30,
                        epsilon_schedule="exponential", initial_q=0.5, state_map=state_map,
                        seed=4)  # fmt: skip
    _trained(agent)
    for _ in range(10):
        agent.end_episode()
    path = agent.save(tmp_path / "policy")
    for loader in (agent_class, TabularAgent):
        loaded = loader.load(path)
        assert type(loaded) is agent_class
        for name, table in agent.tables().items():
            np.testing.assert_array_equal(loaded.tables()[name], table)
        np.testing.assert_array_equal(loaded.policy_table(), agent.policy_table())
        assert loaded.hyperparameters() == agent.hyperparameters()
        assert (loaded.epsilon, loaded.alpha) == (agent.epsilon, agent.alpha)
        assert (loaded.n_states, loaded.n_rows) == (agent.n_states, agent.n_rows)
        assert _greedy_actions(loaded) == _greedy_actions(agent)


@pytest.mark.parametrize("agent_class", LEARNERS)
def test_policy_table_round_trip_through_the_state_map(agent_class: type[TabularAgent]) -> None:
    agent = _trained(agent_class(N_STATES, N_ACTIONS, state_map=belief_rows(), seed=0))
    table = agent.policy_table()
    assert table.shape == (N_STATES, N_ACTIONS)
    other = agent_class(N_STATES, N_ACTIONS, state_map=belief_rows(), seed=0)
    other.load_policy_table(table)
    np.testing.assert_array_equal(other.policy_table(), table)
