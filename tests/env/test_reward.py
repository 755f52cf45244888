"""The reward table: every cell of DESIGN.md's default, the costs, and config forms."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.env import RewardTable
from cdss.env.reward import DECISION_NAMES, RISK_LEVELS

# DESIGN.md "Reward (default)", rows none..contraindicated, columns APPROVE, WARN, BLOCK.
DESIGN_TABLE = {
    "none": (2, -1, -2),
    "minor": (2, 0, -2),
    "moderate": (-3, 2, 0),
    "major": (-10, -2, 2),
    "contraindicated": (-10, -5, 2),
}


@pytest.mark.parametrize("risk", range(len(RISK_LEVELS)))
@pytest.mark.parametrize("decision", range(len(DECISION_NAMES)))
def test_every_default_cell_matches_the_design(risk: int, decision: int) -> None:
    expected = DESIGN_TABLE[RISK_LEVELS[risk]][decision]
    assert RewardTable().decision_reward(risk, decision) == expected


def test_default_costs_and_penalty() -> None:
    table = RewardTable()
    assert (table.request_cost, table.empty_request_cost) == (0.5, 1.0)
    assert table.truncation_penalty == -10.0
    assert table.reward_range == (-11.0, 2.0)


def test_the_right_decision_pays_best_in_every_row() -> None:
    best = RewardTable().as_array().argmax(axis=1)
    np.testing.assert_array_equal(best, [0, 0, 1, 2, 2])


def test_a_mapping_config_reads_like_the_list() -> None:
    as_mapping = {
        level: dict(zip(DECISION_NAMES, row, strict=True)) for level, row in DESIGN_TABLE.items()
    }
    assert RewardTable(decisions=as_mapping) == RewardTable(decisions=list(DESIGN_TABLE.values()))
    assert RewardTable(decisions=as_mapping) == RewardTable()


def test_every_number_is_config() -> None:
    rows = [[1, 0, -1]] * 5
    table = RewardTable(rows, request_cost=0.2, empty_request_cost=0.3, truncation_penalty=-4)
    assert table.decision_reward(4, 0) == 1.0
    assert (table.request_cost, table.empty_request_cost, table.truncation_penalty) == (
        0.2,
        0.3,
        -4.0,
    )


@pytest.mark.parametrize(
    "decisions",
    [
        [[2, -1, -2]] * 4,  # a row short
        [[2, -1]] * 5,  # a column short
        {"none": [2, -1, -2]},  # levels missing
        {**{level: [0, 0, 0] for level in RISK_LEVELS}, "severe": [0, 0, 0]},  # a typo'd level
        [[2, -1, float("nan")]] * 5,
    ],
)
def test_malformed_tables_fail_at_construction(decisions: object) -> None:
    with pytest.raises(ValueError):
        RewardTable(decisions=decisions)  # type: ignore[arg-type]


def test_a_positive_truncation_penalty_is_a_sign_error() -> None:
    with pytest.raises(ValueError, match="truncation_penalty"):
        RewardTable(truncation_penalty=10)
