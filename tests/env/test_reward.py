"""The reward tables: every cell of default, conservative and fuzzy, the fuzzy memberships at
their break points, the costs, and the config files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from cdss.env import CONSERVATIVE_DECISIONS, FuzzyRewardTable, RewardTable
from cdss.env.reward import DECISION_NAMES, RISK_LEVELS
from cdss.knowledge import KnowledgeBase

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


# --- conservative ---------------------------------------------------------------------------

# DESIGN.md: the penalties for under-reacting (APPROVE, WARN) to major and contraindicated risks
# doubled; every other cell as in the default.
CONSERVATIVE_TABLE = {
    "none": (2, -1, -2),
    "minor": (2, 0, -2),
    "moderate": (-3, 2, 0),
    "major": (-20, -4, 2),
    "contraindicated": (-20, -10, 2),
}
CONF = Path(__file__).resolve().parents[2] / "conf" / "reward"


def reward_from_yaml(name: str) -> RewardTable:
    """The reward a config file builds, as the job builds it (its `name` is a label)."""
    node = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    assert isinstance(node, dict) and node.pop("name") == name
    node.pop("defaults")
    return instantiate(node)


@pytest.mark.parametrize("risk", range(len(RISK_LEVELS)))
@pytest.mark.parametrize("decision", range(len(DECISION_NAMES)))
def test_every_conservative_cell_matches_the_design(risk: int, decision: int) -> None:
    expected = CONSERVATIVE_TABLE[RISK_LEVELS[risk]][decision]
    assert RewardTable(CONSERVATIVE_DECISIONS).decision_reward(risk, decision) == expected
    assert reward_from_yaml("conservative").decision_reward(risk, decision) == expected
    default = DESIGN_TABLE[RISK_LEVELS[risk]][decision]
    under_reacting = risk >= 3 and decision < 2
    assert expected == (2 * default if under_reacting else default)


@pytest.mark.parametrize("name", ["default", "conservative", "fuzzy"])
def test_each_config_file_builds_its_table_with_the_default_costs(name: str) -> None:
    table = reward_from_yaml(name)
    assert (table.request_cost, table.empty_request_cost, table.truncation_penalty) == (
        0.5,
        1.0,
        -10.0,
    )
    assert isinstance(table, FuzzyRewardTable) == (name == "fuzzy")
    if name == "default":
        assert table == RewardTable()


# --- fuzzy ----------------------------------------------------------------------------------

# Reward rows per (true risk, age >= 75, eGFR < 60) with both raises at 0.5: the score is the
# level plus the raises (risky orders only), capped at 4; between two levels it pays half each.
FUZZY_TABLE = {
    ("none", False, False): (2, -1, -2),
    ("none", False, True): (2, -1, -2),
    ("none", True, False): (2, -1, -2),
    ("none", True, True): (2, -1, -2),
    ("minor", False, False): (2, 0, -2),
    ("minor", False, True): (-0.5, 1, -1),  # score 1.5: half minor, half moderate
    ("minor", True, False): (-0.5, 1, -1),
    ("minor", True, True): (-3, 2, 0),  # score 2: moderate
    ("moderate", False, False): (-3, 2, 0),
    ("moderate", False, True): (-6.5, 0, 1),  # score 2.5
    ("moderate", True, False): (-6.5, 0, 1),
    ("moderate", True, True): (-10, -2, 2),  # score 3: major
    ("major", False, False): (-10, -2, 2),
    ("major", False, True): (-10, -3.5, 2),  # score 3.5
    ("major", True, False): (-10, -3.5, 2),
    ("major", True, True): (-10, -5, 2),  # score 4: contraindicated
    ("contraindicated", False, False): (-10, -5, 2),
    ("contraindicated", False, True): (-10, -5, 2),  # capped at 4
    ("contraindicated", True, False): (-10, -5, 2),
    ("contraindicated", True, True): (-10, -5, 2),
}


@pytest.mark.parametrize(("risk", "old", "low_egfr"), list(FUZZY_TABLE))
def test_every_fuzzy_cell_is_the_membership_weighted_row(
    risk: str, old: bool, low_egfr: bool
) -> None:
    table = FuzzyRewardTable()
    cls = 4 * RISK_LEVELS.index(risk) + 2 * old + low_egfr
    assert table.class_table()[cls] == pytest.approx(FUZZY_TABLE[(risk, old, low_egfr)])
    assert reward_from_yaml("fuzzy").class_table() == table.class_table()


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (-1.0, (1, 0, 0, 0, 0)),  # shoulder below the first center
        (0.0, (1, 0, 0, 0, 0)),
        (0.5, (0.5, 0.5, 0, 0, 0)),
        (1.0, (0, 1, 0, 0, 0)),
        (1.25, (0, 0.75, 0.25, 0, 0)),
        (2.0, (0, 0, 1, 0, 0)),
        (2.5, (0, 0, 0.5, 0.5, 0)),
        (3.0, (0, 0, 0, 1, 0)),
        (3.5, (0, 0, 0, 0.5, 0.5)),
        (4.0, (0, 0, 0, 0, 1)),
        (5.0, (0, 0, 0, 0, 1)),  # shoulder above the last center
    ],
)
def test_fuzzy_memberships_at_their_break_points(score: float, expected: tuple) -> None:
    memberships = FuzzyRewardTable().memberships(score)
    assert memberships == pytest.approx(expected)
    assert memberships.sum() == pytest.approx(1.0)


def test_fuzzy_memberships_follow_configured_centers() -> None:
    table = FuzzyRewardTable(centers=(0, 1, 2, 4, 6))
    assert table.memberships(3.0) == pytest.approx((0, 0, 0.5, 0.5, 0))
    assert table.memberships(5.5) == pytest.approx((0, 0, 0, 0.25, 0.75))
    with pytest.raises(ValueError):
        FuzzyRewardTable(centers=(0, 2, 1, 3, 4))
    with pytest.raises(ValueError):
        FuzzyRewardTable(age_raise=-1)


def test_fuzzy_classes_read_age_and_a_measured_egfr(kb: KnowledgeBase) -> None:
    from cdss.env.patients import RiskTables, patients_from_record
    from cdss.knowledge import PatientRecord

    tables = RiskTables(kb)
    table = FuzzyRewardTable()

    def reward_class(age: int, labs: dict[str, float]) -> int:
        record = PatientRecord(age, "F", ("warfarin",), frozenset(), labs)
        patients = patients_from_record(kb, tables, record, "fluconazole")  # major
        return int(table.classes(patients)[0])

    assert reward_class(60, {"egfr": 80.0}) == 4 * 3
    assert reward_class(75, {"egfr": 80.0}) == 4 * 3 + 2
    assert reward_class(60, {"egfr": 45.0}) == 4 * 3 + 1
    assert reward_class(80, {}) == 4 * 3 + 2  # a never-measured eGFR is not low
