"""Missingness mechanisms hide the configured share of the facts that exist, each its own way."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.env import MAR, MCAR, MNAR, Masks, PatientGenerator, Patients
from cdss.env.missingness import abnormal_labs, calibrated
from cdss.knowledge import LABS, KnowledgeBase

MECHANISMS = {"mcar": MCAR(), "mar": MAR(), "mnar": MNAR()}


@pytest.fixture(scope="module")
def patients(kb: KnowledgeBase) -> Patients:
    return PatientGenerator(kb).sample(np.random.default_rng(7), 50_000)


def shares(masks: Masks, patients: Patients) -> dict[str, float]:
    return {
        "drugs": masks.drugs.sum() / patients.drug_slots.sum(),
        "conditions": masks.conditions.mean(),
        "labs": masks.labs.sum() / patients.measured_labs.sum(),
        "all": masks.hidden_share(patients),
    }


@pytest.mark.parametrize("missing", [0, 20, 40, 60, 95])
@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_hides_the_configured_share_of_each_group(
    patients: Patients, name: str, missing: int
) -> None:
    masks = MECHANISMS[name].sample(patients, missing, np.random.default_rng(1))
    for group, share in shares(masks, patients).items():
        assert abs(100 * share - missing) < 2, f"{name} {group}: {100 * share:.1f}% hidden"


@pytest.mark.parametrize("missing", [20, 40, 60])
def test_at_the_same_rate_the_mechanisms_hide_the_same_share(
    patients: Patients, missing: int
) -> None:
    hidden = {}
    for name, mechanism in MECHANISMS.items():
        masks = mechanism.sample(patients, missing, np.random.default_rng(2))
        hidden[name] = 100 * masks.hidden_share(patients)
    print(f"missing={missing}: " + ", ".join(f"{k} {v:.2f}%" for k, v in hidden.items()))
    assert max(hidden.values()) - min(hidden.values()) < 2, hidden


def test_only_existing_facts_are_hidden(patients: Patients) -> None:
    for mechanism in MECHANISMS.values():
        masks = mechanism.sample(patients, 95, np.random.default_rng(2))
        assert not (masks.drugs & ~patients.drug_slots).any()
        assert not (masks.labs & ~patients.measured_labs).any()


def test_condition_slots_are_hidden_whether_present_or_absent(patients: Patients) -> None:
    masks = MCAR().sample(patients, 40, np.random.default_rng(3))
    present, absent = patients.conditions, ~patients.conditions
    assert abs(masks.conditions[present].mean() - 0.4) < 0.02
    assert abs(masks.conditions[absent].mean() - 0.4) < 0.02


@pytest.mark.parametrize("name", MECHANISMS)
def test_a_mechanism_is_reproducible_from_the_generator(patients: Patients, name: str) -> None:
    first = MECHANISMS[name].sample(patients, 40, np.random.default_rng(4))
    second = MECHANISMS[name].sample(patients, 40, np.random.default_rng(4))
    for group in ("drugs", "conditions", "labs"):
        np.testing.assert_array_equal(getattr(first, group), getattr(second, group))


def test_mar_hides_labs_of_younger_patients_and_outpatients_more(patients: Patients) -> None:
    masks = MAR().sample(patients, 40, np.random.default_rng(6))
    young = patients.age < 50
    assert masks.labs[young].mean() > 1.5 * masks.labs[~young].mean()
    outpatient = ~patients.inpatient
    assert patients.inpatient.any()
    assert masks.labs[outpatient].mean() > 1.5 * masks.labs[~outpatient].mean()


def test_mar_hides_more_of_long_drug_lists(patients: Patients) -> None:
    masks = MAR().sample(patients, 40, np.random.default_rng(6))
    many = patients.drug_slots.sum(axis=1) >= 5
    slots = patients.drug_slots
    assert many.any()
    share_many = masks.drugs[many].sum() / slots[many].sum()
    share_few = masks.drugs[~many].sum() / slots[~many].sum()
    assert share_many > 1.5 * share_few


def test_mnar_hides_abnormal_labs_more_often_than_normal_ones(patients: Patients) -> None:
    masks = MNAR().sample(patients, 40, np.random.default_rng(7))
    abnormal = abnormal_labs(patients)
    normal = ~abnormal & patients.measured_labs
    assert abnormal.any() and normal.any()
    print(f"MNAR at 40%: abnormal labs {masks.labs[abnormal].mean():.1%} hidden, "
          f"normal {masks.labs[normal].mean():.1%}")  # fmt: skip
    assert masks.labs[abnormal].mean() > 1.5 * masks.labs[normal].mean()
    # MCAR does not care: the same share either way.
    mcar = MCAR().sample(patients, 40, np.random.default_rng(7))
    assert abs(mcar.labs[abnormal].mean() - mcar.labs[normal].mean()) < 0.02


def test_abnormal_means_outside_the_reference_interval(kb: KnowledgeBase) -> None:
    sample = PatientGenerator(kb).sample(np.random.default_rng(0), 2000)
    labs = np.array([[90.0, 4.2, 1.0, 440.0, 20.0], [45.0, 5.6, 2.5, 455.0, 60.0]])
    sample = type(sample)(**{**sample.__dict__, "labs": np.vstack([labs] * 1000),
                             "lab_levels": np.zeros((2000, len(LABS)), dtype=np.int8),
                             "female": np.tile([False, True], 1000)})  # fmt: skip
    flags = abnormal_labs(sample)[:2]
    # eGFR, potassium, INR, QTc (men above 450, women above 460), ALT.
    np.testing.assert_array_equal(flags[0], [False, False, False, False, False])
    np.testing.assert_array_equal(flags[1], [True, True, True, False, True])


def test_calibrated_probabilities_hit_the_rate_even_when_some_reach_one() -> None:
    rng = np.random.default_rng(0)
    kind = rng.integers(0, 3, (400, 8))  # weights 1, 10 and 3 (kinds need not be ordered)
    weights = [1.0, 10.0, 3.0]
    exists = rng.random((400, 8)) < 0.7
    for p in (0.05, 0.4, 0.8, 1.0):
        probabilities = calibrated(p, kind, weights, exists)
        assert abs(probabilities[exists].mean() - p) < 1e-9
        assert probabilities.max() <= 1 and not probabilities[~exists].any()
        by_kind = [probabilities[exists & (kind == k)] for k in range(3)]
        assert by_kind[1].min() >= by_kind[2].max() >= by_kind[0].max()
    # A kind with no existing fact takes no share.
    assert abs(calibrated(0.5, kind, weights, exists & (kind != 1))[exists & (kind != 1)].mean()
               - 0.5) < 1e-9  # fmt: skip


def test_missing_must_be_a_percentage(patients: Patients) -> None:
    with pytest.raises(ValueError):
        MCAR().sample(patients, 140, np.random.default_rng(0))
