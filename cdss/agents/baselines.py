"""Baselines that do not learn: today's interaction checker, a cautious variant, random, oracle.

The rule baselines read the belief features of `cdss.env.observation` back from the state
index, so they see exactly what a learning agent sees; their policy is tabulated once over
every state, which makes `act` a list look-up.
"""

from __future__ import annotations

from typing import Any

from cdss.agents.base import Agent
from cdss.env.actions import N_ACTIONS, N_DECISIONS, Action
from cdss.env.observation import FEATURES, N_STATES, STATUS_UNKNOWN, decode

_KNOWN = FEATURES.index("known_severity")
_HIDDEN_DRUGS = FEATURES.index("hidden_drugs")
_LAB_STATUS = FEATURES.index("lab_status")
_CONDITION_STATUS = FEATURES.index("condition_status")

# The checker's decision per known severity (none, minor, moderate, major, contraindicated).
_RULE = (Action.APPROVE, Action.APPROVE, Action.WARN, Action.BLOCK, Action.BLOCK)


class _BeliefBaseline(Agent):
    """A fixed policy over the belief features, tabulated over all states."""

    def __init__(self, n_states: int = N_STATES, n_actions: int = N_ACTIONS, seed: int = 0) -> None:
        if n_states != N_STATES or n_actions != N_ACTIONS:
            raise ValueError(
                f"{type(self).__name__} reads the belief state of cdss.env.observation "
                f"({N_STATES} states, {N_ACTIONS} actions), got {n_states} x {n_actions}"
            )
        super().__init__(n_states, n_actions, seed)
        self.policy: tuple[int, ...] = tuple(
            int(self.decide(decode(state))) for state in range(N_STATES)
        )

    def decide(self, features: tuple[int, ...]) -> Action:
        raise NotImplementedError

    def act(self, state: int, greedy: bool = False) -> int:
        return self.policy[state]


class RuleBasedAgent(_BeliefBaseline):
    """A classic interaction checker on the observed facts only (DESIGN.md `rule_based`).

    BLOCK on a known major or contraindicated risk, WARN on a known moderate one, else
    APPROVE: so it approves silently when the fact that matters is hidden.
    """

    name = "rule_based"

    def decide(self, features: tuple[int, ...]) -> Action:
        return _RULE[features[_KNOWN]]


class CautiousRuleAgent(_BeliefBaseline):
    """The checker, but it never approves while a fact relevant to the order is hidden.

    "Relevant" is what the belief state can tell: a relevant lab or condition unknown, or any
    current drug hidden (any drug may interact). It then WARNs instead of approving; known
    moderate or worse risks are handled as by the checker.
    """

    name = "cautious_rule"

    def decide(self, features: tuple[int, ...]) -> Action:
        decision = _RULE[features[_KNOWN]]
        uncertain = (
            features[_LAB_STATUS] == STATUS_UNKNOWN
            or features[_CONDITION_STATUS] == STATUS_UNKNOWN
            or features[_HIDDEN_DRUGS] > 0
        )
        if decision == Action.APPROVE and uncertain:
            return Action.WARN
        return decision


class RandomAgent(Agent):
    """Uniform over APPROVE, WARN, BLOCK from the agent's seeded stream.

    `greedy` changes nothing: the policy itself is random. Evaluation reseeds the stream,
    so its figures are still reproducible.
    """

    name = "random"

    def __init__(self, n_states: int = N_STATES, n_actions: int = N_ACTIONS, seed: int = 0) -> None:
        super().__init__(n_states, n_actions, seed)

    def act(self, state: int, greedy: bool = False) -> int:
        return int(self._uniform() * N_DECISIONS)


class OracleAgent(Agent):
    """The ceiling: the right decision from the hidden truth, never a request.

    The one declared exception to "no agent reads the truth": it asks the bound environment's
    `oracle_action()`. `bind(env)` must come first; the trainer and evaluator do it.
    """

    name = "oracle"

    def __init__(self, n_states: int = N_STATES, n_actions: int = N_ACTIONS, seed: int = 0) -> None:
        super().__init__(n_states, n_actions, seed)
        self._env: Any = None

    def bind(self, env: Any) -> None:
        """Remember the (unwrapped) environment whose current order is being decided."""
        self._env = env.unwrapped

    def act(self, state: int, greedy: bool = False) -> int:
        if self._env is None:
            raise RuntimeError("OracleAgent.act before bind(env)")
        return self._env.oracle_action()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the environment; bind again after loading."""
        state = self.__dict__.copy()
        state["_env"] = None
        return state
