"""Free-text conditions to keys, and clinical cases to records."""

from __future__ import annotations

import pytest

from cdss.knowledge import (
    CONDITIONS,
    PatientRecord,
    UnknownDrugError,
    case_conditions,
    fact_key_from_case,
    map_condition,
    record_from_case,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("chronic kidney disease stage 3a", "ckd"),
        ("Chronic kidney disease stage 4", "ckd"),
        ("CKD 5 on dialysis", "ckd"),
        ("diabetic nephropathy", "ckd"),
        ("asthma (on inhaled corticosteroid/LABA)", "asthma"),
        ("COPD GOLD 3", "copd"),
        ("pregnant, 24 weeks", "pregnancy"),
        ("heart failure with reduced ejection fraction (EF 30%)", "heart_failure"),
        ("HFpEF", "heart_failure"),
        ("alcoholic cirrhosis", "liver_disease"),
        ("history of duodenal ulcer", "peptic_ulcer"),
        ("upper GI bleed 2019", "peptic_ulcer"),
        ("angioedema on enalapril", "angioedema_history"),
        ("atrial fibrillation", "atrial_fibrillation"),
        ("paroxysmal AF", "atrial_fibrillation"),
        ("type 2 diabetes", "diabetes"),
        ("Type 1 diabetes mellitus", "diabetes"),
        ("essential hypertension", "hypertension"),
        ("epilepsy", "epilepsy"),
        ("gouty arthritis", "gout"),
        ("sick sinus syndrome", "bradycardia"),
        ("congenital long QT syndrome", "long_qt_syndrome"),
    ],
)
def test_map_condition(text, key):
    assert map_condition(text) == key
    assert key in CONDITIONS


@pytest.mark.parametrize(
    "text",
    [
        "hyperlipidaemia",
        "oesophageal candidiasis",
        "community-acquired pneumonia",
        "stable angina",
        "gastro-oesophageal reflux disease",
        "diabetes insipidus",
        "pulmonary hypertension",
        "history of gestational diabetes",
        "no asthma",
        "",
    ],
)
def test_map_condition_none(text):
    assert map_condition(text) is None


CASE = {
    "id": "X1",
    "age": 68,
    "sex": "F",
    "pregnant": True,
    "conditions": ["type 2 diabetes", "chronic kidney disease stage 4", "migraine"],
    "labs": {
        "egfr_ml_min_1_73m2": 25,
        "potassium_mmol_l": 4.1,
        "inr": 1.0,
        "qtc_ms": 430,
        "alt_u_l": 22,
    },
    "current_drugs": ["Metoprolol Succinate ER", "budesonide-formoterol inhaler", "metoprolol"],
    "order": "paracetamol (acetaminophen)",
}


def test_record_from_case(curated):
    patient, order = record_from_case(CASE, curated)
    assert isinstance(patient, PatientRecord)
    assert order == "paracetamol"
    assert patient.drugs == ("metoprolol", "budesonide", "formoterol")
    assert patient.conditions == frozenset({"diabetes", "ckd", "pregnancy"})
    assert patient.labs == {"egfr": 25.0, "potassium": 4.1, "inr": 1.0, "qtc": 430.0, "alt": 22.0}
    assert (patient.age, patient.sex) == (68, "F")


def test_unmapped_conditions_are_reported():
    assert case_conditions(CASE) == (frozenset({"diabetes", "ckd", "pregnancy"}), ("migraine",))


def test_record_from_case_unknown_drug_raises(curated):
    with pytest.raises(UnknownDrugError, match="unobtainium"):
        record_from_case({**CASE, "current_drugs": ["unobtainium"]}, curated)


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("labs.inr", "labs.inr"),
        ("labs.egfr_ml_min_1_73m2", "labs.egfr"),
        ("labs.potassium_mmol_l", "labs.potassium"),
        ("labs.qtc_ms", "labs.qtc"),
        ("labs.alt_u_l", "labs.alt"),
        ("conditions[chronic kidney disease stage 4]", "conditions.ckd"),
        ("conditions[asthma (on inhaled corticosteroid/LABA)]", "conditions.asthma"),
        ("current_drugs[Coumadin]", "drugs.warfarin"),
        ("pregnant", "conditions.pregnancy"),
    ],
)
def test_fact_key_from_case(curated, entry, key):
    assert fact_key_from_case(entry, curated) == key


@pytest.mark.parametrize("entry", ["labs.sodium", "conditions[migraine]", "age"])
def test_fact_key_from_case_rejects_what_it_cannot_map(entry):
    with pytest.raises(ValueError, match="hide entry"):
        fact_key_from_case(entry)
