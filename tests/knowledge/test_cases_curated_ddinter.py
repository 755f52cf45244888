"""Every clinical case of ../shared/cases/cases.json still decides acceptably on curated_ddinter.

As tests/test_cases_kb.py for the curated KB: the decision follows from the worst risk over all
facts of the case (none or minor -> APPROVE, moderate -> WARN, major or worse -> BLOCK).
"""

from __future__ import annotations

import pytest

from cdss.knowledge import KnowledgeBase, load_curated, record_from_case
from tests.conftest import CASES_MISSING as MISSING
from tests.conftest import DECISION_OF_RISK as DECISION
from tests.conftest import load_cases

CASES = load_cases()


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
