"""Every clinical case of ../shared/cases/cases.json still decides acceptably on curated_ddinter.

As tests/test_cases_kb.py for the curated KB: the decision follows from the worst risk over all
facts of the case (none or minor -> APPROVE, moderate -> WARN, major or worse -> BLOCK).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdss.knowledge import KnowledgeBase, Risk, load_curated, record_from_case

CASES_PATH = Path(__file__).resolve().parents[3] / "shared" / "cases" / "cases.json"
DECISION = {
    Risk.NONE: "APPROVE",
    Risk.MINOR: "APPROVE",
    Risk.MODERATE: "WARN",
    Risk.MAJOR: "BLOCK",
    Risk.CONTRAINDICATED: "BLOCK",
}
MISSING = f"{CASES_PATH} is missing: the clinical cases live in ../shared/cases/cases.json"


def _cases() -> list[dict[str, Any]]:
    """The cases, or one placeholder that fails (never an empty, silently skipped set)."""
    if not CASES_PATH.is_file():
        return [{"id": "cases-file-missing"}]
    return json.loads(CASES_PATH.read_text(encoding="utf-8"))["cases"]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_curated_ddinter_decides_acceptably(merged_kb: KnowledgeBase, case: dict) -> None:
    if "order" not in case:
        pytest.fail(MISSING)
    patient, order = record_from_case(case, merged_kb)
    assessment = merged_kb.assess(patient, order)
    decision = DECISION[assessment.level]
    reasons = "; ".join(f"{r.kind} {r.subject} {r.level.name}" for r in assessment.reasons)
    assert decision in case["acceptable_decisions"], (
        f"{case['id']} {case['title']}: {decision} ({assessment.level.name}: {reasons or '-'}),"
        f" acceptable {case['acceptable_decisions']}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_ddinter_changes_no_case_decision(merged_kb: KnowledgeBase, case: dict) -> None:
    """Where the merge changes a case's risk, the curated KB must state that pair itself."""
    if "order" not in case:
        pytest.fail(MISSING)
    curated = load_curated()
    patient, order = record_from_case(case, curated)
    merged = merged_kb.assess(*record_from_case(case, merged_kb))
    assert DECISION[merged.level] == DECISION[curated.assess(patient, order).level]
