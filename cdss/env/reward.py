"""The reward of a decision given the true risk, and the price of asking for facts.

Three tables (DESIGN.md "Reward"): `default`; `conservative`, the default with the penalties
for under-reacting to major and contraindicated risks doubled (`CONSERVATIVE_DECISIONS`); and
`fuzzy` (`FuzzyRewardTable`), which raises the severity of a risky order by patient modifiers
(age 75 and over, low eGFR) to a continuous score and pays the membership-weighted reward of
the levels the score lies between.

The environment asks a reward for `classes(patients)`, one integer per order computed once
per batch, and `class_table()`, the decision rewards of each class; a step reads one cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cdss.env.patients import Patients

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

# The default with the penalties for APPROVE and WARN (under-reacting) doubled where the right
# action is BLOCK (major, contraindicated).
CONSERVATIVE_DECISIONS: tuple[tuple[float, float, float], ...] = (
    (2.0, -1.0, -2.0),  # none
    (2.0, 0.0, -2.0),  # minor
    (-3.0, 2.0, 0.0),  # moderate
    (-20.0, -4.0, 2.0),  # major
    (-20.0, -10.0, 2.0),  # contraindicated
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

    def classes(self, patients: Patients) -> np.ndarray:
        """Row of `class_table()` per order: its true risk."""
        return patients.true_risk

    def class_table(self) -> tuple[tuple[float, ...], ...]:
        """Decision rewards (APPROVE, WARN, BLOCK) per reward class."""
        return self.decisions

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


class FuzzyRewardTable(RewardTable):
    """Membership-weighted rewards of a continuous risk score.

    The score of an order is the center of its true risk level (`centers`, by default 0..4)
    raised by patient modifiers when the order carries any risk: `age_raise` at age
    `age_at_least` or over, `egfr_raise` when the measured eGFR is below `egfr_below` (older
    and renally impaired patients clear drugs slower and tolerate harm worse). A modifier
    scales the harm of a risk; it does not create one, so a riskless order keeps score 0. The
    score is clipped to the outer centers and mapped through triangular membership functions,
    one per level, peaking at its center and reaching 0 at the neighbouring centers (shoulders
    at both ends), so the memberships of any score sum to 1. A decision pays the
    membership-weighted mean of the `decisions` rows.

    Only the true risk, the age flag and the eGFR flag enter the score: 20 reward classes.
    """

    def __init__(
        self,
        decisions: DecisionTable | None = None,
        request_cost: float = 0.5,
        empty_request_cost: float = 1.0,
        truncation_penalty: float = -10.0,
        centers: Sequence[float] = (0.0, 1.0, 2.0, 3.0, 4.0),
        age_at_least: int = 75,
        age_raise: float = 0.5,
        egfr_below: float = 60.0,
        egfr_raise: float = 0.5,
    ) -> None:
        super().__init__(decisions, request_cost, empty_request_cost, truncation_penalty)
        self.centers = tuple(float(c) for c in centers)
        if len(self.centers) != len(RISK_LEVELS) or any(
            b <= a for a, b in zip(self.centers, self.centers[1:], strict=False)
        ):
            raise ValueError(f"centers must be {len(RISK_LEVELS)} increasing numbers")
        if age_raise < 0 or egfr_raise < 0:
            raise ValueError("age_raise and egfr_raise raise the score: they must be >= 0")
        self.age_at_least = int(age_at_least)
        self.age_raise = float(age_raise)
        self.egfr_below = float(egfr_below)
        self.egfr_raise = float(egfr_raise)

    def score(self, risk: np.ndarray, old: np.ndarray, low_egfr: np.ndarray) -> np.ndarray:
        """Continuous risk score from the true risk and the two modifier flags."""
        risk = np.asarray(risk, dtype=np.int64)
        raised = self.age_raise * np.asarray(old) + self.egfr_raise * np.asarray(low_egfr)
        score = np.asarray(self.centers)[risk] + np.where(risk > 0, raised, 0.0)
        return np.clip(score, self.centers[0], self.centers[-1])

    def memberships(self, score: np.ndarray | float) -> np.ndarray:
        """(..., 5) membership of each level for each score; each row sums to 1."""
        score = np.asarray(score, dtype=np.float64)
        identity = np.eye(len(RISK_LEVELS))
        return np.stack([np.interp(score, self.centers, row) for row in identity], axis=-1)

    def classes(self, patients: Patients) -> np.ndarray:
        """Class = 4 x true risk + 2 x (age flag) + (eGFR flag)."""
        from cdss.knowledge import LABS

        egfr = patients.labs[:, LABS.index("egfr")]
        with np.errstate(invalid="ignore"):
            low_egfr = egfr < self.egfr_below  # NaN (never measured): not low
        old = patients.age >= self.age_at_least
        return 4 * patients.true_risk + 2 * old.astype(np.int64) + low_egfr.astype(np.int64)

    def class_table(self) -> tuple[tuple[float, ...], ...]:
        risk, flags = np.divmod(np.arange(4 * len(RISK_LEVELS)), 4)
        score = self.score(risk, flags // 2, flags % 2)
        rewards = self.memberships(score) @ np.asarray(self.decisions, dtype=np.float64)
        return tuple(tuple(float(v) for v in row) for row in rewards)

    def __repr__(self) -> str:
        return (
            f"FuzzyRewardTable({super().__repr__()}, centers={self.centers}, "
            f"age_at_least={self.age_at_least}, age_raise={self.age_raise}, "
            f"egfr_below={self.egfr_below}, egfr_raise={self.egfr_raise})"
        )
