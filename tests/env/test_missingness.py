"""Missingness mechanisms hide the configured share of the facts that exist."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.env import MAR, MCAR, MNAR, PatientGenerator, Patients
from cdss.knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def patients(kb: KnowledgeBase) -> Patients:
    return PatientGenerator(kb).sample(np.random.default_rng(7), 20_000)


@pytest.mark.parametrize("missing", [0, 20, 40, 95])
def test_mcar_hides_the_configured_share_of_each_group(patients: Patients, missing: int) -> None:
    masks = MCAR().sample(patients, missing, np.random.default_rng(1))
    shares = {
        "drugs": masks.drugs.sum() / patients.drug_slots.sum(),
        "conditions": masks.conditions.mean(),
        "labs": masks.labs.sum() / patients.measured_labs.sum(),
        "all": masks.hidden_share(patients),
    }
    for group, share in shares.items():
        assert abs(100 * share - missing) < 2, f"{group}: {100 * share:.1f}% hidden"


def test_only_existing_facts_are_hidden(patients: Patients) -> None:
    masks = MCAR().sample(patients, 95, np.random.default_rng(2))
    assert not (masks.drugs & ~patients.drug_slots).any()
    assert not (masks.labs & ~patients.measured_labs).any()


def test_condition_slots_are_hidden_whether_present_or_absent(patients: Patients) -> None:
    masks = MCAR().sample(patients, 40, np.random.default_rng(3))
    present, absent = patients.conditions, ~patients.conditions
    assert abs(masks.conditions[present].mean() - 0.4) < 0.02
    assert abs(masks.conditions[absent].mean() - 0.4) < 0.02


def test_mcar_is_reproducible_from_the_generator(patients: Patients) -> None:
    first = MCAR().sample(patients, 40, np.random.default_rng(4))
    second = MCAR().sample(patients, 40, np.random.default_rng(4))
    np.testing.assert_array_equal(first.labs, second.labs)
    np.testing.assert_array_equal(first.drugs, second.drugs)


@pytest.mark.parametrize("mechanism", [MAR(), MNAR()], ids=["mar", "mnar"])
def test_other_mechanisms_keep_the_overall_share(patients: Patients, mechanism: object) -> None:
    masks = mechanism.sample(patients, 40, np.random.default_rng(5))  # type: ignore[attr-defined]
    assert abs(100 * masks.hidden_share(patients) - 40) < 2


def test_mar_hides_labs_of_younger_patients_more(patients: Patients) -> None:
    masks = MAR().sample(patients, 40, np.random.default_rng(6))
    young = patients.age < 50
    assert masks.labs[young].mean() > 1.5 * masks.labs[~young].mean()


def test_mnar_hides_risk_raising_facts_more(patients: Patients) -> None:
    masks = MNAR().sample(patients, 40, np.random.default_rng(7))
    abnormal = patients.lab_levels > 0
    assert masks.labs[abnormal].mean() > 1.5 * masks.labs[~abnormal & patients.measured_labs].mean()


def test_missing_must_be_a_percentage(patients: Patients) -> None:
    with pytest.raises(ValueError):
        MCAR().sample(patients, 140, np.random.default_rng(0))
