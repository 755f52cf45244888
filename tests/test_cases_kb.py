"""Every clinical case of ../shared/cases/cases.json: the curated KB's decision is acceptable.

The decision follows from the worst risk over all facts of the case: none or minor -> APPROVE,
moderate -> WARN, major or contraindicated -> BLOCK.
"""

from __future__ import annotations

import pytest

from cdss.knowledge import load_curated, record_from_case
from tests.conftest import CASES_MISSING as MISSING
from tests.conftest import CASES_PATH, load_cases
from tests.conftest import DECISION_OF_RISK as DECISION

CASES = load_cases()


def test_cases_file_is_present():
    if not CASES_PATH.is_file():
        pytest.fail(MISSING)
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_curated_kb_decides_acceptably(case):
    if "order" not in case:
        pytest.fail(MISSING)
    kb = load_curated()
    patient, order = record_from_case(case, kb)
    assessment = kb.assess(patient, order)
    decision = DECISION[assessment.level]
    reasons = "; ".join(f"{r.kind} {r.subject} {r.level.name}" for r in assessment.reasons)
    assert decision in case["acceptable_decisions"], (
        f"{case['id']} {case['title']}: {decision} ({assessment.level.name}: {reasons or '-'}),"
        f" acceptable {case['acceptable_decisions']}"
    )
