"""Generated cohorts: plausible records, orders built to be risky, risks equal to the KB's."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.env import PatientGenerator, Patients
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, Risk


@pytest.fixture(scope="module")
def patients(kb: KnowledgeBase) -> Patients:
    return PatientGenerator(kb).sample(np.random.default_rng(11), 10_000)


def test_true_risk_equals_the_kb_assessment(kb: KnowledgeBase, patients: Patients) -> None:
    for index in range(0, len(patients), 20):
        record = patients.record(index, kb)
        assessed = kb.assess(record, kb.drugs[patients.order[index]])
        assert patients.true_risk[index] == assessed.level, record


def test_true_risk_is_the_worst_fact(patients: Patients) -> None:
    worst = np.maximum.reduce(
        [
            patients.drug_levels.max(axis=1),
            patients.condition_levels.max(axis=1),
            patients.lab_levels.max(axis=1),
        ]
    )
    np.testing.assert_array_equal(worst, patients.true_risk)


def test_fact_levels_vanish_where_there_is_no_fact(patients: Patients) -> None:
    assert not patients.drug_levels[~patients.drug_slots].any()
    assert not patients.condition_levels[~patients.conditions].any()


def test_current_drugs_are_distinct_and_never_the_order(patients: Patients) -> None:
    counts = patients.drug_slots.sum(axis=1)
    assert counts.min() == 0 and counts.max() == 8
    for row in patients.drugs[:2000]:
        held = row[row >= 0]
        assert len(set(held.tolist())) == len(held)
    assert not (patients.drugs == patients.order[:, None]).any()


@pytest.mark.parametrize("share", [0.2, 0.5, 0.8])
def test_order_risk_share_sets_the_share_of_moderate_or_worse(
    kb: KnowledgeBase, share: float
) -> None:
    sample = PatientGenerator(kb, order_risk_share=share).sample(np.random.default_rng(3), 8000)
    assert abs((sample.true_risk >= Risk.MODERATE).mean() - share) < 0.05


def test_labs_follow_conditions_and_drugs(kb: KnowledgeBase, patients: Patients) -> None:
    egfr, inr = patients.labs[:, LABS.index("egfr")], patients.labs[:, LABS.index("inr")]
    ckd = patients.conditions[:, CONDITIONS.index("ckd")]
    assert ckd.any() and (egfr[ckd] < 60).all()
    assert np.median(egfr[~ckd]) > 60
    on_warfarin = (patients.drugs == kb.drug_id("warfarin")).any(axis=1)
    assert on_warfarin.any() and (inr[~on_warfarin] < 2.0).mean() > 0.99
    assert np.median(inr[on_warfarin]) > 2.0


def test_pregnancy_only_in_women_of_childbearing_age(patients: Patients) -> None:
    pregnant = patients.conditions[:, CONDITIONS.index("pregnancy")]
    assert pregnant.any()
    assert patients.female[pregnant].all() and (patients.age[pregnant] <= 45).all()


def test_the_same_generator_state_gives_the_same_cohort(kb: KnowledgeBase) -> None:
    generator = PatientGenerator(kb)
    first = generator.sample(np.random.default_rng(5), 500)
    second = generator.sample(np.random.default_rng(5), 500)
    for name in ("drugs", "conditions", "labs", "order", "true_risk"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
