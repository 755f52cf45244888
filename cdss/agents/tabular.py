"""Tabular TD agents: one shared base (Q-table, epsilon-greedy, schedules), a TD target each.

Each algorithm is its `td_target`; Double Q-learning also owns its `update`, since it keeps two
tables and learns one of them per step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cdss.agents.base import Agent
from cdss.agents.schedules import Schedule, decay_episodes

log = logging.getLogger(__name__)

DEFAULT_DECAY_EPISODES = 2500


def _first_best(values: Any) -> int:
    """Index of the first largest value (a deterministic argmax for bootstrapping)."""
    row = list(values)
    return row.index(max(row))


class TabularAgent(Agent):
    """Epsilon-greedy agent over a Q-table of `n_states` x `n_actions`.

    Exploration follows `epsilon_schedule` (constant, linear or exponential) from
    `epsilon_start` to `epsilon_end` over `epsilon_decay_episodes` episodes (or
    `epsilon_decay_fraction` of `n_episodes`, the form the config uses); the learning rate
    follows `alpha_schedule` from `alpha` to `alpha_end` the same way (constant by default).
    `initial_q` above the best reward is optimistic and makes the agent try every action.
    Greedy ties are broken at random by the agent's seeded stream, so an unvisited state is
    not silently mapped to action 0 (APPROVE). Subclasses define `td_target`.

    States are indices of the observation space (`encoder_for`); `state_map`, when given, maps
    each to a table row, so that several observations share what is learned (state
    aggregation, e.g. `cdss.agents.belief.belief_rows`). `q` has one row per table row;
    `policy_table()` has one per observation.
    """

    learns = True
    _registry: ClassVar[dict[str, type[TabularAgent]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        TabularAgent._registry[cls.name] = cls

    def __init__(
        self,
        n_states: int,
        n_actions: int,
        alpha: float = 0.1,
        gamma: float = 0.95,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.05,
        epsilon_decay_episodes: int | None = None,
        epsilon_decay_fraction: float | None = None,
        epsilon_schedule: str = "linear",
        alpha_end: float | None = None,
        alpha_decay_episodes: int | None = None,
        alpha_decay_fraction: float | None = None,
        alpha_schedule: str = "constant",
        n_episodes: int | None = None,
        initial_q: float = 0.0,
        state_map: Sequence[int] | np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(n_states, n_actions, seed)
        self.state_map = self._checked_map(state_map)
        self.n_rows = self.n_states if self.state_map is None else int(self.state_map.max()) + 1
        self._row_of: list[int] = (
            list(range(self.n_states)) if self.state_map is None else self.state_map.tolist()
        )
        alpha_end = alpha if alpha_end is None else alpha_end
        if not (0 < alpha <= 1 and 0 < alpha_end <= 1) or not 0 <= gamma <= 1:
            raise ValueError(
                f"need 0 < alpha, alpha_end <= 1 and 0 <= gamma <= 1, got {alpha}, {alpha_end}, "
                f"{gamma}"
            )
        if not 0 <= epsilon_end <= epsilon_start <= 1:
            raise ValueError("need 0 <= epsilon_end <= epsilon_start <= 1")
        self.gamma = float(gamma)
        self.epsilon_schedule = Schedule(
            str(epsilon_schedule),  # a config enum is a str subclass: keep the plain value
            float(epsilon_start),
            float(epsilon_end),
            decay_episodes(epsilon_decay_episodes, epsilon_decay_fraction, n_episodes,
                           DEFAULT_DECAY_EPISODES),
        )  # fmt: skip
        self.alpha_schedule = Schedule(
            str(alpha_schedule),
            float(alpha),
            float(alpha_end),
            decay_episodes(alpha_decay_episodes, alpha_decay_fraction, n_episodes,
                           DEFAULT_DECAY_EPISODES),
        )  # fmt: skip
        self.initial_q = float(initial_q)
        self.q = np.full((self.n_rows, self.n_actions), self.initial_q, dtype=np.float64)
        self.episodes_done = 0
        self.epsilon = self.epsilon_schedule(0)
        self.alpha = self.alpha_schedule(0)

    # --- the table ----------------------------------------------------------------------

    def _checked_map(self, state_map: Sequence[int] | np.ndarray | None) -> np.ndarray | None:
        if state_map is None:
            return None
        mapping = np.asarray(state_map, dtype=np.int64)
        if mapping.shape != (self.n_states,) or mapping.min() < 0:
            raise ValueError(
                f"state_map needs one row index >= 0 per state ({self.n_states}), got shape "
                f"{mapping.shape}"
            )
        return mapping

    @property
    def q(self) -> np.ndarray:
        """The Q-table, (n_rows, n_actions) float64; edits in place are seen by the agent."""
        return self._q

    @q.setter
    def q(self, table: np.ndarray) -> None:
        self._q = self._checked(table)
        self._bind_rows()

    def _checked(self, table: np.ndarray) -> np.ndarray:
        table = np.array(table, dtype=np.float64, order="C")
        if table.shape != (self.n_rows, self.n_actions):
            raise ValueError(f"Q-table shape {table.shape} != {(self.n_rows, self.n_actions)}")
        return table

    def _bind_rows(self) -> None:
        # Per-row memoryviews share the table's memory: reading and writing single cells
        # through them costs a fraction of numpy scalar indexing, on the hot path of a step.
        # (Typed Any: a memoryview of doubles has no type of its own.)
        self._rows: list[Any] = [memoryview(row) for row in self._q]

    def tables(self) -> dict[str, np.ndarray]:
        """Every table the agent learns, by name (copies): what `save` and checkpoints keep."""
        return {"q": self._q.copy()}

    def load_tables(self, tables: dict[str, np.ndarray]) -> None:
        """Restore tables returned by `tables`."""
        self.q = tables["q"]

    def policy_table(self) -> np.ndarray:
        """Action values per observation index, (n_states, n_actions): the table a logged
        policy model reads, whatever the state map."""
        return self.q.copy() if self.state_map is None else self.q[self.state_map]

    def load_policy_table(self, table: np.ndarray) -> None:
        """Take over a `policy_table()` (of an agent with the same state map)."""
        table = np.asarray(table, dtype=np.float64)
        if table.shape != (self.n_states, self.n_actions):
            raise ValueError(
                f"policy table shape {table.shape} != {(self.n_states, self.n_actions)}"
            )
        if self.state_map is None:
            self.q = table
            return
        first = np.full(self.n_rows, -1, dtype=np.int64)
        first[self.state_map[::-1]] = np.arange(self.n_states)[::-1]  # first state of each row
        self.q = table[np.maximum(first, 0)]

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        for key in [k for k in state if k.startswith("_rows")]:
            del state[key]  # memoryviews do not pickle; rebuilt from the tables
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._bind_rows()

    # --- behaviour ----------------------------------------------------------------------

    def _values(self, row: int) -> list[float]:
        """The action values the behaviour policy ranks in table row `row`."""
        return self._rows[row].tolist()

    def act(self, state: int, greedy: bool = False) -> int:
        """Epsilon-greedy action (plain greedy when `greedy`), ties broken at random."""
        if not greedy and self._uniform() < self.epsilon:
            return int(self._uniform() * self.n_actions)
        row = self._values(self._row_of[state])
        best = max(row)
        if row.count(best) == 1:
            return row.index(best)
        ties = [action for action, value in enumerate(row) if value == best]
        return ties[int(self._uniform() * len(ties))]

    def greedy_policy(self) -> np.ndarray:
        """Greedy action per state, lowest action on ties (for inspection, not for acting)."""
        return self.policy_table().argmax(axis=1)

    @property
    def states_visited(self) -> int:
        """Table rows updated at least once."""
        return int(np.any(self.q != self.initial_q, axis=1).sum())

    # --- learning -----------------------------------------------------------------------

    def td_target(
        self, reward: float, next_row: int, terminated: bool, next_action: int | None
    ) -> float:
        """The TD target of a step that ends in table row `next_row`."""
        raise NotImplementedError

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        next_action: int | None = None,
    ) -> float:
        """One TD(0) step on Q(state, action); returns the TD error before the step."""
        row = self._rows[self._row_of[state]]
        td_target = self.td_target(reward, self._row_of[next_state], terminated, next_action)
        td_error = td_target - row[action]
        row[action] += self.alpha * td_error
        return td_error

    def end_episode(self) -> None:
        """Advance the exploration and learning-rate schedules by one episode."""
        self.episodes_done += 1
        self.epsilon = self.epsilon_schedule(self.episodes_done)
        self.alpha = self.alpha_schedule(self.episodes_done)

    def epsilon_after(self, episodes: int) -> float:
        """Exploration rate once `episodes` episodes are done."""
        return self.epsilon_schedule(episodes)

    # --- persistence --------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, float | int | str]:
        """The constructor arguments that define this agent (besides the table shape)."""
        return {
            "alpha": self.alpha_schedule.start,
            "alpha_end": self.alpha_schedule.end,
            "alpha_decay_episodes": self.alpha_schedule.decay_episodes,
            "alpha_schedule": self.alpha_schedule.kind,
            "gamma": self.gamma,
            "epsilon_start": self.epsilon_schedule.start,
            "epsilon_end": self.epsilon_schedule.end,
            "epsilon_decay_episodes": self.epsilon_schedule.decay_episodes,
            "epsilon_schedule": self.epsilon_schedule.kind,
            "initial_q": self.initial_q,
            "seed": self.seed,
        }

    def save(self, path: str | Path) -> Path:
        """Write the tables, state map, hyperparameters and schedule position to an .npz file."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        arrays: dict[str, Any] = {
            "algorithm": np.array(self.name),
            "n_states": np.array(self.n_states),
            "episodes_done": np.array(self.episodes_done),
            "hyperparameters": np.array(json.dumps(self.hyperparameters())),
            **{f"table_{name}": table for name, table in self.tables().items()},
        }
        if self.state_map is not None:
            arrays["state_map"] = self.state_map
        np.savez(path, **arrays)
        log.info("Saved %s Q-table %s to %s", self.name, self.q.shape, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TabularAgent:
        """Rebuild an agent saved by `save`; `TabularAgent.load` picks the saved algorithm."""
        with np.load(Path(path), allow_pickle=False) as data:
            algorithm = str(data["algorithm"])
            target = cls._registry.get(algorithm) if cls is TabularAgent else cls
            if target is None or target.name != algorithm:
                raise ValueError(f"{path} holds a {algorithm!r} agent, not {cls.name!r}")
            params = json.loads(str(data["hyperparameters"]))
            tables = {
                k.removeprefix("table_"): data[k] for k in data.files if k.startswith("table_")
            }
            episodes_done = int(data["episodes_done"])
            n_states = int(data["n_states"])
            state_map = data["state_map"] if "state_map" in data.files else None
        n_actions = next(iter(tables.values())).shape[1]
        agent = target(n_states, n_actions, state_map=state_map, **params)
        agent.load_tables(tables)
        agent.episodes_done = episodes_done
        agent.epsilon = agent.epsilon_schedule(episodes_done)
        agent.alpha = agent.alpha_schedule(episodes_done)
        return agent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_states={self.n_states}, n_actions={self.n_actions}, "
            f"alpha={self.alpha}, gamma={self.gamma}, epsilon={self.epsilon:.3f})"
        )


class QLearningAgent(TabularAgent):
    """Off-policy TD control: bootstraps from the best next action."""

    name = "q"

    def td_target(
        self, reward: float, next_row: int, terminated: bool, next_action: int | None
    ) -> float:
        return reward if terminated else reward + self.gamma * max(self._rows[next_row])


class SarsaAgent(TabularAgent):
    """On-policy TD control: bootstraps from the next action the behaviour policy took."""

    name = "sarsa"
    needs_next_action = True

    def td_target(
        self, reward: float, next_row: int, terminated: bool, next_action: int | None
    ) -> float:
        if terminated:
            return reward
        if next_action is None:
            raise ValueError("SARSA needs the next action of a non-terminal transition")
        return reward + self.gamma * self._rows[next_row][next_action]


class ExpectedSarsaAgent(TabularAgent):
    """On-policy TD control without the sampling noise of the next action: bootstraps from
    the next state's value under the epsilon-greedy policy itself."""

    name = "expected_sarsa"

    def td_target(
        self, reward: float, next_row: int, terminated: bool, next_action: int | None
    ) -> float:
        if terminated:
            return reward
        row = self._rows[next_row]
        expected = self.epsilon * sum(row) / self.n_actions + (1.0 - self.epsilon) * max(row)
        return reward + self.gamma * expected


class DoubleQLearningAgent(TabularAgent):
    """Q-learning with two tables (van Hasselt, 2010), against the max operator's upward bias.

    Each step one table, picked by a coin of the agent's stream, learns: it chooses the best
    next action and the other table values it. The agent acts on the sum of both tables;
    `q` is their mean (a copy: assigning `q` sets both tables, editing it in place does not).
    """

    name = "double_q"

    @property
    def q(self) -> np.ndarray:
        return (self._q + self._q_b) / 2.0

    @q.setter
    def q(self, table: np.ndarray) -> None:
        self._q = self._checked(table)
        self._q_b = self._q.copy()
        self._bind_rows()

    def _bind_rows(self) -> None:
        super()._bind_rows()
        self._rows_b: list[Any] = [memoryview(row) for row in self._q_b]

    def tables(self) -> dict[str, np.ndarray]:
        return {"q_a": self._q.copy(), "q_b": self._q_b.copy()}

    def load_tables(self, tables: dict[str, np.ndarray]) -> None:
        self._q = self._checked(tables["q_a"])
        self._q_b = self._checked(tables["q_b"])
        self._bind_rows()

    def _values(self, row: int) -> list[float]:
        return [a + b for a, b in zip(self._rows[row], self._rows_b[row], strict=True)]

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        next_action: int | None = None,
    ) -> float:
        """One TD(0) step on one of the two tables; returns that table's TD error."""
        if self._uniform() < 0.5:
            learner, critic = self._rows, self._rows_b
        else:
            learner, critic = self._rows_b, self._rows
        row, next_row = learner[self._row_of[state]], self._row_of[next_state]
        best_next = 0 if terminated else _first_best(learner[next_row])
        td_target = reward if terminated else reward + self.gamma * critic[next_row][best_next]
        td_error = td_target - row[action]
        row[action] += self.alpha * td_error
        return td_error
