"""Tabular TD agents: one Q-table, epsilon-greedy behaviour, a TD target per algorithm."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np

from cdss.agents.base import Agent

log = logging.getLogger(__name__)

DEFAULT_DECAY_EPISODES = 2500


class TabularAgent(Agent):
    """Epsilon-greedy agent over a Q-table of `n_states` x `n_actions`.

    Exploration decays linearly per episode from `epsilon_start` to `epsilon_end` over
    `epsilon_decay_episodes` (or `epsilon_decay_fraction` of `n_episodes`, the form the
    config uses), then stays at `epsilon_end`. Greedy ties are broken at random by the agent's
    seeded stream, so an unvisited state is not silently mapped to action 0 (APPROVE).
    Subclasses define `td_target`; everything else is shared.
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
        n_episodes: int | None = None,
        initial_q: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(n_states, n_actions, seed)
        if not 0 < alpha <= 1 or not 0 <= gamma <= 1:
            raise ValueError(f"need 0 < alpha <= 1 and 0 <= gamma <= 1, got {alpha}, {gamma}")
        if not 0 <= epsilon_end <= epsilon_start <= 1:
            raise ValueError("need 0 <= epsilon_end <= epsilon_start <= 1")
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.epsilon_start = float(epsilon_start)
        self.epsilon_end = float(epsilon_end)
        self.epsilon_decay_episodes = self._decay_episodes(
            epsilon_decay_episodes, epsilon_decay_fraction, n_episodes
        )
        self.initial_q = float(initial_q)
        self.q = np.full((self.n_states, self.n_actions), self.initial_q, dtype=np.float64)
        self.episodes_done = 0
        self.epsilon = self.epsilon_start

    @staticmethod
    def _decay_episodes(
        episodes: int | None, fraction: float | None, n_episodes: int | None
    ) -> int:
        if episodes is not None:
            return max(1, int(episodes))
        if fraction is not None:
            if n_episodes is None:
                raise ValueError("epsilon_decay_fraction needs n_episodes")
            return max(1, round(fraction * n_episodes))
        return DEFAULT_DECAY_EPISODES

    # --- the table ----------------------------------------------------------------------

    @property
    def q(self) -> np.ndarray:
        """The Q-table, (n_states, n_actions) float64; edits in place are seen by the agent."""
        return self._q

    @q.setter
    def q(self, table: np.ndarray) -> None:
        table = np.array(table, dtype=np.float64, order="C")
        if table.shape != (self.n_states, self.n_actions):
            raise ValueError(f"Q-table shape {table.shape} != {(self.n_states, self.n_actions)}")
        self._q = table
        # Per-row memoryviews share the table's memory: reading and writing single cells
        # through them costs a fraction of numpy scalar indexing, on the hot path of a step.
        self._rows = [memoryview(row) for row in table]

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_rows"]  # memoryviews do not pickle; rebuilt from the table
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.q = self._q

    # --- behaviour ----------------------------------------------------------------------

    def act(self, state: int, greedy: bool = False) -> int:
        """Epsilon-greedy action (plain greedy when `greedy`), ties broken at random."""
        if not greedy and self._uniform() < self.epsilon:
            return int(self._uniform() * self.n_actions)
        row = self._rows[state].tolist()
        best = max(row)
        if row.count(best) == 1:
            return row.index(best)
        ties = [action for action, value in enumerate(row) if value == best]
        return ties[int(self._uniform() * len(ties))]

    def greedy_policy(self) -> np.ndarray:
        """Greedy action per state, lowest action on ties (for inspection, not for acting)."""
        return self.q.argmax(axis=1)

    @property
    def states_visited(self) -> int:
        """States whose row has been updated at least once."""
        return int(np.any(self.q != self.initial_q, axis=1).sum())

    # --- learning -----------------------------------------------------------------------

    def td_target(
        self, reward: float, next_state: int, terminated: bool, next_action: int | None
    ) -> float:
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
        row = self._rows[state]
        td_target = self.td_target(reward, next_state, terminated, next_action)
        td_error = td_target - row[action]
        row[action] += self.alpha * td_error
        return td_error

    def end_episode(self) -> None:
        """Advance the linear epsilon schedule by one episode."""
        self.episodes_done += 1
        self.epsilon = self.epsilon_after(self.episodes_done)

    def epsilon_after(self, episodes: int) -> float:
        """Exploration rate once `episodes` episodes are done."""
        remaining = max(0.0, 1.0 - episodes / self.epsilon_decay_episodes)
        return self.epsilon_end + (self.epsilon_start - self.epsilon_end) * remaining

    # --- persistence --------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, float | int]:
        """The constructor arguments that define this agent (besides the table shape)."""
        return {
            "alpha": self.alpha,
            "gamma": self.gamma,
            "epsilon_start": self.epsilon_start,
            "epsilon_end": self.epsilon_end,
            "epsilon_decay_episodes": self.epsilon_decay_episodes,
            "initial_q": self.initial_q,
            "seed": self.seed,
        }

    def save(self, path: str | Path) -> Path:
        """Write the Q-table, hyperparameters and schedule position to an .npz file."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        params = self.hyperparameters()
        np.savez(
            path,
            q=self.q,
            algorithm=np.array(self.name),
            episodes_done=np.array(self.episodes_done),
            param_names=np.array(list(params)),
            param_values=np.array(list(params.values()), dtype=np.float64),
        )
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
            params = dict(zip(data["param_names"].tolist(), data["param_values"].tolist(),
                              strict=True))  # fmt: skip
            q = data["q"]
            episodes_done = int(data["episodes_done"])
        params["epsilon_decay_episodes"] = int(params["epsilon_decay_episodes"])
        params["seed"] = int(params["seed"])
        agent = target(q.shape[0], q.shape[1], **params)
        agent.q = q
        agent.episodes_done = episodes_done
        agent.epsilon = agent.epsilon_after(episodes_done)
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
        self, reward: float, next_state: int, terminated: bool, next_action: int | None
    ) -> float:
        return reward if terminated else reward + self.gamma * max(self._rows[next_state])


class SarsaAgent(TabularAgent):
    """On-policy TD control: bootstraps from the next action the behaviour policy took."""

    name = "sarsa"
    needs_next_action = True

    def td_target(
        self, reward: float, next_state: int, terminated: bool, next_action: int | None
    ) -> float:
        if next_action is None and not terminated:
            raise ValueError("SARSA needs the next action of a non-terminal transition")
        return reward if terminated else reward + self.gamma * self._rows[next_state][next_action]
