"""What every agent shares: the act/update/bind interface, seeding, and observation encoders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from gymnasium import spaces

# Mixed into an agent's seed so its stream differs from the environment's for the same seed:
# gymnasium seeds the env with SeedSequence(seed), we use SeedSequence([seed, AGENT_STREAM]).
AGENT_STREAM = 0xA6E7
_UNIFORM_BATCH = 4096

Encoder = Callable[[Any], int]


class Agent:
    """An agent acting on table indices of the belief state.

    Subclasses set `name` (the `algo.name` of the config) and `learns`; `act` and `update`
    are the whole interface the trainer and the evaluator use. Random numbers come from the
    agent's own seeded Generator, drawn in batches because a scalar draw from numpy costs
    more than the rest of a step.
    """

    name = "agent"
    learns = False
    needs_next_action = False  # True for on-policy updates (SARSA) that need a' before updating

    def __init__(self, n_states: int, n_actions: int, seed: int = 0) -> None:
        if n_states < 1 or n_actions < 1:
            raise ValueError(f"need at least one state and one action, got {n_states}, {n_actions}")
        self.n_states = int(n_states)
        self.n_actions = int(n_actions)
        self.reseed(seed)

    # --- randomness ---------------------------------------------------------------------

    def reseed(self, seed: int) -> None:
        """Restart the agent's random stream from `seed`."""
        self.seed = int(seed)
        self._rng = np.random.default_rng([self.seed, AGENT_STREAM])
        self._uniforms: list[float] = []
        self._next_uniform = 0

    def _uniform(self) -> float:
        """Next U[0, 1) draw of the agent's stream."""
        position = self._next_uniform
        if position == len(self._uniforms):
            self._uniforms = self._rng.random(_UNIFORM_BATCH).tolist()
            position = 0
        self._next_uniform = position + 1
        return self._uniforms[position]

    @contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        """Use a stream from `seed` inside the block and restore the previous one after it.

        Evaluation runs inside this so that it is deterministic (greedy ties, the random
        baseline) without shifting the training stream of the agent.
        """
        saved = (self.seed, self._rng, self._uniforms, self._next_uniform)
        self.reseed(seed)
        try:
            yield
        finally:
            self.seed, self._rng, self._uniforms, self._next_uniform = saved

    # --- the interface ------------------------------------------------------------------

    def bind(self, env: Any) -> None:
        """Attach to an environment before acting in it; only the oracle needs it."""
        return None

    def act(self, state: int, greedy: bool = False) -> int:
        """Action for a belief-state index; `greedy` turns exploration off."""
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
        """Learn from one transition and return the TD error (0.0 for agents that do not learn)."""
        return 0.0

    def end_episode(self) -> None:
        """Called by the trainer after each episode (exploration schedules live here)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_states={self.n_states}, n_actions={self.n_actions})"


class MultiDiscreteEncoder:
    """Row-major table index of a MultiDiscrete observation (as np.ravel_multi_index).

    The index of each possible observation is precomputed and looked up by the array's bytes,
    which is several times cheaper per step than raveling; any other input (a list, another
    dtype) takes the slower exact path.
    """

    _PRECOMPUTE_LIMIT = 1 << 16

    def __init__(self, space: spaces.MultiDiscrete) -> None:
        self.nvec = tuple(int(n) for n in np.asarray(space.nvec).ravel())
        self.start = tuple(int(s) for s in np.asarray(space.start).ravel())
        self.dtype = space.dtype
        self.n_states = int(np.prod(self.nvec))
        self._table: dict[bytes, int] = {}
        if self.n_states <= self._PRECOMPUTE_LIMIT:
            grid = np.indices(self.nvec).reshape(len(self.nvec), -1).T
            grid = (grid + np.array(self.start)).astype(self.dtype)
            self._table = {row.tobytes(): i for i, row in enumerate(grid)}

    def __call__(self, observation: Any) -> int:
        try:
            return self._table[observation.tobytes()]
        except (KeyError, AttributeError):
            flat = np.asarray(observation).ravel() - np.array(self.start)
            return int(np.ravel_multi_index(tuple(flat.astype(np.int64)), self.nvec))


class DiscreteEncoder:
    """Index of a Discrete observation whose `start` is not 0."""

    def __init__(self, start: int) -> None:
        self.start = int(start)

    def __call__(self, observation: Any) -> int:
        return int(observation) - self.start


def encoder_for(space: spaces.Space) -> Encoder:
    """Turn an observation of `space` into a table index: identity for Discrete, ravel for
    MultiDiscrete. Other spaces have no finite table and raise TypeError."""
    if isinstance(space, spaces.Discrete):
        return int if int(space.start) == 0 else DiscreteEncoder(int(space.start))
    if isinstance(space, spaces.MultiDiscrete):
        return MultiDiscreteEncoder(space)
    raise TypeError(f"tabular agents need a Discrete or MultiDiscrete space, got {space}")


def n_states_of(space: spaces.Space) -> int:
    """Number of table rows for `space` (see `encoder_for`)."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.prod(space.nvec))
    raise TypeError(f"tabular agents need a Discrete or MultiDiscrete space, got {space}")
