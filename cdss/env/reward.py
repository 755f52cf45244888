"""The reward of a decision given the true risk, and the price of asking for facts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

RISK_LEVELS: tuple[str, ...] = ("none", "minor", "moderate", "major", "contraindicated")
DECISION_NAMES: tuple[str, ...] = ("approve", "warn", "block")

# DESIGN.md "Reward (default)": rows are the true risk, columns APPROVE, WARN, BLOCK.
DEFAULT_DECISIONS: tuple[tuple[float, float, float], ...] = (
    (2.0, -1.0, -2.0),  # none
    (2.0, 0.0, -2.0),  # minor
    (-3.0, 2.0, 0.0),  # moderate
    (-10.0, -2.0, 2.0),  # major
    (-10.0, -5.0, 2.0),  # contraindicated
)

DecisionTable = Sequence[Sequence[float]] | Mapping[str, Sequence[float] | Mapping[str, float]]


def _row(level: str, cells: Sequence[float] | Mapping[str, float]) -> tuple[float, ...]:
    if isinstance(cells, Mapping):
        unknown = set(cells) - set(DECISION_NAMES)
        if unknown or len(cells) != len(DECISION_NAMES):
            raise ValueError(f"reward row {level!r} needs exactly the keys {DECISION_NAMES}")
        values = [cells[name] for name in DECISION_NAMES]
    else:
        values = list(cells)
        if len(values) != len(DECISION_NAMES):
            raise ValueError(f"reward row {level!r} needs {len(DECISION_NAMES)} values")
    row = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in row):
        raise ValueError(f"reward row {level!r} has a non-finite value: {row}")
    return row


def parse_decisions(decisions: DecisionTable) -> tuple[tuple[float, ...], ...]:
    """Read the decision table from config: a list of 5 rows or a mapping by risk-level name.

    Rows are none..contraindicated; a row is [approve, warn, block] or a mapping with those
    keys. A mapping must name every level, so a typo fails here rather than in a sweep.
    """
    if isinstance(decisions, Mapping):
        unknown = set(decisions) - set(RISK_LEVELS)
        if unknown or len(decisions) != len(RISK_LEVELS):
            raise ValueError(
                f"reward table needs exactly the rows {RISK_LEVELS}, got {sorted(decisions)}"
            )
        return tuple(_row(level, decisions[level]) for level in RISK_LEVELS)
    rows = list(decisions)
    if len(rows) != len(RISK_LEVELS):
        raise ValueError(f"reward table needs {len(RISK_LEVELS)} rows {RISK_LEVELS}")
    return tuple(_row(level, row) for level, row in zip(RISK_LEVELS, rows, strict=True))


class RewardTable:
    """Rewards of one episode: a decision's payoff by true risk, request costs, the miss penalty.

    Costs are magnitudes (a request yields `-request_cost`); `truncation_penalty` is the reward
    added when the step limit ends an episode without a decision, so it must not be positive.
    """

    def __init__(
        self,
        decisions: DecisionTable | None = None,
        request_cost: float = 0.5,
        empty_request_cost: float = 1.0,
        truncation_penalty: float = -10.0,
    ) -> None:
        self.decisions = parse_decisions(DEFAULT_DECISIONS if decisions is None else decisions)
        if request_cost < 0 or empty_request_cost < 0:
            raise ValueError("request costs are magnitudes and must be >= 0")
        if truncation_penalty > 0:
            raise ValueError(
                f"truncation_penalty is a reward and must be <= 0, got {truncation_penalty}"
            )
        self.request_cost = float(request_cost)
        self.empty_request_cost = float(empty_request_cost)
        self.truncation_penalty = float(truncation_penalty)

    def decision_reward(self, risk: int, decision: int) -> float:
        """Reward of APPROVE (0), WARN (1) or BLOCK (2) for an order of the given true risk."""
        return self.decisions[risk][decision]

    def as_array(self) -> np.ndarray:
        """The decision table as a (5, 3) float array, rows none..contraindicated."""
        return np.array(self.decisions, dtype=np.float64)

    @property
    def reward_range(self) -> tuple[float, float]:
        """Lowest and highest reward of a single step."""
        cells = [v for row in self.decisions for v in row]
        worst_request = -max(self.request_cost, self.empty_request_cost)
        return min(*cells, worst_request + self.truncation_penalty), max(cells)

    def __repr__(self) -> str:
        return (
            f"RewardTable(decisions={self.decisions}, request_cost={self.request_cost}, "
            f"empty_request_cost={self.empty_request_cost}, "
            f"truncation_penalty={self.truncation_penalty})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RewardTable):
            return NotImplemented
        return repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))
