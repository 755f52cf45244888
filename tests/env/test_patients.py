"""Cohorts: generated records follow the fitted model, replayed records keep their gaps, and the
risk of every order equals the knowledge base's."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.env import PatientGenerator, Patients, RecordSampler
from cdss.env.fitted import (
    AGE_BINS,
    SHIPPED_MODEL,
    GeneratorModel,
    fit_model,
    load_model,
)
from cdss.env.patients import Categorical
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord, Risk


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
    assert ckd.any() and np.median(egfr[ckd]) < 45 and (egfr[ckd] < 60).mean() > 0.85
    assert np.median(egfr[~ckd]) > 60
    on_warfarin = (patients.drugs == kb.drug_id("warfarin")).any(axis=1)
    assert on_warfarin.any() and (inr[~on_warfarin] < 2.0).mean() > 0.99
    assert np.median(inr[on_warfarin]) > 2.0
    assert not np.isnan(patients.labs).any()  # a generated record is the full truth


def test_pregnancy_only_in_women_of_childbearing_age(patients: Patients) -> None:
    pregnant = patients.conditions[:, CONDITIONS.index("pregnancy")]
    assert pregnant.any()
    assert patients.female[pregnant].all() and (patients.age[pregnant] <= 45).all()


def test_the_same_generator_state_gives_the_same_cohort(kb: KnowledgeBase) -> None:
    generator = PatientGenerator(kb)
    first = generator.sample(np.random.default_rng(5), 500)
    second = generator.sample(np.random.default_rng(5), 500)
    for name in ("drugs", "conditions", "labs", "order", "true_risk", "inpatient"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


# --- the fitted model -------------------------------------------------------------------------


def test_the_shipped_model_loads_and_round_trips() -> None:
    model = load_model()
    assert model.source["name"] == "synthea_ohdsi_dbt27"
    assert model.source["licence"].startswith("Apache-2.0")
    assert GeneratorModel.from_json(model.to_json()) == model
    assert SHIPPED_MODEL.stat().st_size < 20_000  # small enough to ship and review


def test_ages_and_drug_counts_follow_the_model(kb: KnowledgeBase, patients: Patients) -> None:
    model = load_model()
    assert patients.age.min() >= AGE_BINS[0] and patients.age.max() < AGE_BINS[-1]
    shares = np.bincount(np.searchsorted(AGE_BINS, patients.age, side="right") - 1,
                         minlength=len(model.age_probs)) / len(patients)  # fmt: skip
    np.testing.assert_allclose(shares, model.age_probs, atol=0.02)
    assert abs(patients.female.mean() - model.female) < 0.02
    # Older patients take more drugs, as in the records and the prior.
    counts = patients.drug_slots.sum(axis=1)
    assert counts[patients.age >= 70].mean() > counts[patients.age < 50].mean() + 1


def test_drugs_seen_together_in_the_records_are_drawn_together(
    kb: KnowledgeBase, patients: Patients
) -> None:
    """Lisinopril and hydrochlorothiazide go together in the fitted records."""

    def takes(name: str) -> np.ndarray:
        return (patients.drugs == kb.drug_id(name)).any(axis=1)

    both = (takes("lisinopril") & takes("hydrochlorothiazide")).mean()
    assert both > 1.3 * takes("lisinopril").mean() * takes("hydrochlorothiazide").mean()
    hypertensive = patients.conditions[:, CONDITIONS.index("hypertension")]
    assert takes("lisinopril")[hypertensive].mean() > 2 * takes("lisinopril")[~hypertensive].mean()


def test_a_kb_drug_prior_shapes_what_is_drawn(kb: KnowledgeBase) -> None:
    """`drug_weights` (DDInter's frequency prior) is the prior of the drug marginal."""
    weights = np.full(len(kb.drugs), 1e-6)
    weights[kb.drug_id("digoxin")] = 1.0
    original = kb.drug_weights
    try:
        kb.drug_weights = weights / weights.sum()
        sample = PatientGenerator(kb).sample(np.random.default_rng(0), 4000)
    finally:
        kb.drug_weights = original
    baseline = PatientGenerator(kb).sample(np.random.default_rng(0), 4000)

    def share(cohort: Patients) -> float:
        return float((cohort.drugs == kb.drug_id("digoxin")).any(axis=1).mean())

    assert share(sample) > 5 * share(baseline)


def test_fitting_moves_toward_the_records_as_far_as_their_number() -> None:
    many = [PatientRecord(80, "F", ("warfarin",), frozenset({"atrial_fibrillation"}),
                          {"inr": 2.5, "egfr": 40.0})] * 400  # fmt: skip
    model = fit_model(many)
    assert model.prevalence["atrial_fibrillation"][2] > 0.9  # 400 records beat 20 pseudo
    assert model.female > 0.95
    assert model.labs["egfr"].n == 400 and model.labs["qtc"].n == 0
    assert model.labs["qtc"].coefficients == load_model().labs["qtc"].coefficients  # prior
    few = fit_model(many[:2])
    assert few.prevalence["atrial_fibrillation"][2] < 0.3  # two records barely move it


def test_categorical_draws_match_their_weights() -> None:
    table = Categorical([{0: 1.0, 3: 3.0}, {5: 2.0}, {1: 1.0, 2: 1.0, 4: 2.0}])
    rng = np.random.default_rng(0)
    rows = np.repeat([0, 2], 20_000)
    drawn = table.draw(rng.random(len(rows)), rows)
    assert set(drawn[:20_000]) == {0, 3} and abs((drawn[:20_000] == 3).mean() - 0.75) < 0.01
    assert abs((drawn[20_000:] == 4).mean() - 0.5) < 0.01
    assert (table.draw(rng.random(10), np.ones(10, dtype=np.int64)) == 5).all()


# --- replayed records -------------------------------------------------------------------------

RECORDS = (
    PatientRecord(70, "M", ("warfarin", "amlodipine"), frozenset({"atrial_fibrillation"}),
                  {"inr": 3.9}),
    PatientRecord(45, "F", (), frozenset(), {}),
    PatientRecord(82, "F", ("metformin",), frozenset({"diabetes", "ckd"}), {"egfr": 25.0}),
)  # fmt: skip


def test_record_sampler_replays_the_records_with_their_gaps(kb: KnowledgeBase) -> None:
    sampler = RecordSampler(kb, RECORDS, hospital_share=[1.0, 0.0, 0.0])
    sample = sampler.sample(np.random.default_rng(0), 600)
    for index in range(len(sample)):
        record = sample.record(index, kb)
        assert record in RECORDS
        assert sample.inpatient[index] == (record is RECORDS[0] or record == RECORDS[0])
    measured = {(r.age, lab) for r in RECORDS for lab in r.labs}
    for age, labs in zip(sample.age.tolist(), sample.labs, strict=True):
        for lab, value in zip(LABS, labs, strict=True):
            assert np.isnan(value) == ((age, lab) not in measured)
    assert abs((sample.true_risk >= Risk.MODERATE).mean() - 0.5) < 0.08


def test_record_sampler_refuses_unknown_drugs(kb: KnowledgeBase) -> None:
    with pytest.raises(KeyError):
        RecordSampler(kb, [PatientRecord(50, "F", ("not-a-drug",), frozenset(), {})])
    with pytest.raises(ValueError):
        RecordSampler(kb, [])
