"""A safety shield: rules that overrule an agent's decision on a risk already known.

The shield sits between any agent and the environment, in training and in evaluation. It reads
the same belief state the agent does (`cdss.env.observation`), so it acts on the observed facts
only: what it prevents is a decision no checker would let through, never a guess about what is
hidden. The agent learns from the action actually taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from cdss.agents.base import Agent
from cdss.env.actions import N_ACTIONS, N_DECISIONS, Action
from cdss.env.observation import FEATURES, N_STATES, decode

_KNOWN = FEATURES.index("known_severity")

# The least a decision may be per known severity (none, minor, moderate, major,
# contraindicated): decisions are ordered APPROVE < WARN < BLOCK.
_FLOOR = (Action.APPROVE, Action.APPROVE, Action.WARN, Action.BLOCK, Action.BLOCK)


class Shield(Protocol):
    """Maps the action an agent proposes in a state to the action taken."""

    name: str

    def __call__(self, state: int, action: int) -> int: ...


class RuleShield:
    """A known major or contraindicated risk is always blocked; a known moderate one is never
    approved silently (WARN at least). Requests and every other decision pass through."""

    name = "rules"

    def __init__(self, n_states: int = N_STATES, n_actions: int = N_ACTIONS) -> None:
        if n_states != N_STATES or n_actions != N_ACTIONS:
            raise ValueError(
                f"shield=rules reads the belief state of cdss.env.observation ({N_STATES} "
                f"states, {N_ACTIONS} actions), got {n_states} x {n_actions}: it cannot guard "
                "another environment"
            )
        self.floor: tuple[int, ...] = tuple(int(_FLOOR[decode(s)[_KNOWN]]) for s in range(N_STATES))

    def __call__(self, state: int, action: int) -> int:
        if action < N_DECISIONS:
            return max(action, self.floor[state])
        return action

    def __repr__(self) -> str:
        return "RuleShield()"


@dataclass
class ShieldTally:
    """How many actions the shield saw and how many it replaced."""

    actions: int = 0
    overrides: int = 0


class ShieldedAgent(Agent):
    """`agent` behind `shield`: same name, same learning, but the shield has the last word.

    Everything not defined here (the Q-table, epsilon, `save`, ...) is the wrapped agent's.
    """

    def __init__(self, agent: Agent, shield: Shield) -> None:
        self.agent = agent
        self.shield = shield
        self.name = agent.name
        self.learns = agent.learns
        self.needs_next_action = agent.needs_next_action
        self.n_states, self.n_actions = agent.n_states, agent.n_actions
        self.tally = ShieldTally()

    def __getattr__(self, name: str) -> Any:
        if name in ("agent", "shield", "tally"):  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.agent, name)

    # --- randomness is the wrapped agent's -------------------------------------------------

    def reseed(self, seed: int) -> None:
        self.agent.reseed(seed)

    @contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        with self.agent.seeded(seed):
            yield

    @contextmanager
    def counting(self) -> Iterator[ShieldTally]:
        """Count into a fresh tally inside the block (an evaluation) and restore the old one."""
        saved, self.tally = self.tally, ShieldTally()
        try:
            yield self.tally
        finally:
            self.tally = saved

    # --- the interface -------------------------------------------------------------------

    def bind(self, env: Any) -> None:
        self.agent.bind(env)

    def act(self, state: int, greedy: bool = False) -> int:
        proposed = self.agent.act(state, greedy)
        action = self.shield(state, proposed)
        self.tally.actions += 1
        if action != proposed:
            self.tally.overrides += 1
        return action

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        next_action: int | None = None,
    ) -> float:
        return self.agent.update(state, action, reward, next_state, terminated, next_action)

    def end_episode(self) -> None:
        self.agent.end_episode()

    def __repr__(self) -> str:
        return f"ShieldedAgent({self.agent!r}, {self.shield!r})"
