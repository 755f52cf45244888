"""The shipped knowledge base: its size, its sources and the clinical rules it must hold."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cdss.knowledge import CONDITIONS, CURATED_DIR, PatientRecord, Risk
from cdss.knowledge.loader import SCHEMA


def rows(file: str) -> list[dict[str, str]]:
    text = (CURATED_DIR / file).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def record(drugs=(), conditions=(), labs=None) -> PatientRecord:
    return PatientRecord(60, "M", tuple(drugs), frozenset(conditions), dict(labs or {}))


def test_size(curated):
    counts = curated.summary()
    assert counts["drugs"] >= 60
    assert counts["classes"] >= 15
    assert counts["interactions.csv"] >= 150
    for level in Risk:
        assert counts[f"interactions.{level.name.lower()}"] > 0, level
    assert counts["drug_conditions.csv"] + counts["drug_labs.csv"] >= 25
    assert any(
        r["drug_a"].startswith("class:") or r["drug_b"].startswith("class:")
        for r in rows("interactions.csv")
    )


@pytest.mark.parametrize("file", list(SCHEMA))
def test_every_entry_has_a_source(file):
    entries = rows(file)
    assert entries
    assert all(entry["source"].strip() for entry in entries), file


def test_drug_classes_are_populated(curated):
    assert all(len(members) >= 1 for members in curated.classes.values())
    assert len({c for c, m in curated.classes.items() if len(m) >= 2}) >= 15


def test_package_data_ships_the_csv_files():
    assert sorted(p.name for p in Path(CURATED_DIR).glob("*.csv")) == sorted(SCHEMA)


@pytest.mark.parametrize(
    ("order", "facts", "level"),
    [
        ("metformin", {"labs": {"egfr": 29.0}}, Risk.CONTRAINDICATED),
        ("metformin", {"labs": {"egfr": 55.0}, "conditions": ["ckd"]}, Risk.NONE),
        ("lisinopril", {"conditions": ["pregnancy"]}, Risk.CONTRAINDICATED),
        ("losartan", {"conditions": ["pregnancy"]}, Risk.CONTRAINDICATED),
        ("enalapril", {"conditions": ["angioedema_history"]}, Risk.CONTRAINDICATED),
        ("spironolactone", {"labs": {"potassium": 5.6}}, Risk.CONTRAINDICATED),
        ("eplerenone", {"labs": {"potassium": 5.3}}, Risk.MAJOR),
        ("amiloride", {"labs": {"potassium": 5.6}}, Risk.CONTRAINDICATED),
        ("spironolactone", {"labs": {"potassium": 4.3}}, Risk.NONE),
        ("citalopram", {"labs": {"qtc": 510.0}}, Risk.MAJOR),
        ("azithromycin", {"labs": {"qtc": 418.0}}, Risk.NONE),
        ("propranolol", {"conditions": ["asthma"]}, Risk.CONTRAINDICATED),
        ("carvedilol", {"conditions": ["asthma"]}, Risk.CONTRAINDICATED),
        ("bisoprolol", {"conditions": ["asthma"]}, Risk.MODERATE),
        ("ibuprofen", {"labs": {"egfr": 25.0}}, Risk.MAJOR),
        ("naproxen", {"conditions": ["peptic_ulcer"]}, Risk.MAJOR),
        ("diclofenac", {"conditions": ["heart_failure"]}, Risk.MAJOR),
        ("ibuprofen", {"conditions": ["ckd"]}, Risk.MODERATE),
        ("warfarin", {"labs": {"inr": 5.2}}, Risk.MAJOR),
        ("warfarin", {"labs": {"inr": 2.5}}, Risk.NONE),
        ("atorvastatin", {"labs": {"alt": 150.0}}, Risk.MAJOR),
        ("simvastatin", {"conditions": ["liver_disease"]}, Risk.MODERATE),
        ("sotalol", {"labs": {"qtc": 460.0}}, Risk.CONTRAINDICATED),
        ("enoxaparin", {"conditions": ["pregnancy"]}, Risk.NONE),
        ("enoxaparin", {"labs": {"egfr": 25.0}}, Risk.MODERATE),
        ("ethinylestradiol", {"conditions": ["hypertension"]}, Risk.MAJOR),
        ("ethinylestradiol", {"conditions": ["atrial_fibrillation"]}, Risk.CONTRAINDICATED),
        ("etonogestrel", {"conditions": ["pregnancy"]}, Risk.CONTRAINDICATED),
        ("terfenadine", {"conditions": ["liver_disease"]}, Risk.CONTRAINDICATED),
        ("terfenadine", {"labs": {"qtc": 510.0}}, Risk.MAJOR),
        ("alendronic acid", {"labs": {"egfr": 30.0}}, Risk.MAJOR),
        ("vancomycin", {"labs": {"egfr": 45.0}}, Risk.MODERATE),
        ("diphenhydramine", {"conditions": ["copd"]}, Risk.MODERATE),
        ("pethidine", {"conditions": ["epilepsy"]}, Risk.MAJOR),
        ("epinephrine", {"conditions": ["hypertension"]}, Risk.NONE),
    ],
)
def test_required_single_fact_rules(curated, order, facts, level):
    assert curated.assess(record(**facts), order).level == level


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("simvastatin", "clarithromycin", Risk.CONTRAINDICATED),
        ("simvastatin", "erythromycin", Risk.CONTRAINDICATED),
        ("simvastatin", "azithromycin", Risk.NONE),
        ("amlodipine", "atorvastatin", Risk.NONE),
        ("amlodipine", "simvastatin", Risk.MODERATE),
        ("warfarin", "paracetamol", Risk.MINOR),
        ("warfarin", "fluconazole", Risk.MAJOR),
        ("clopidogrel", "omeprazole", Risk.MODERATE),
        ("clopidogrel", "pantoprazole", Risk.NONE),
        ("sildenafil", "isosorbide mononitrate", Risk.CONTRAINDICATED),
        ("tadalafil", "glyceryl trinitrate", Risk.CONTRAINDICATED),
        ("losartan", "spironolactone", Risk.MODERATE),
        ("lisinopril", "spironolactone", Risk.MODERATE),
        ("lisinopril", "losartan", Risk.MAJOR),
        ("lisinopril", "sacubitril", Risk.CONTRAINDICATED),
        ("tizanidine", "ciprofloxacin", Risk.CONTRAINDICATED),
        ("methotrexate", "trimethoprim", Risk.MAJOR),
        ("oxycodone", "diazepam", Risk.MAJOR),
        ("sertraline", "tramadol", Risk.MAJOR),
        ("ibuprofen", "naproxen", Risk.MODERATE),
        ("citalopram", "sertraline", Risk.MAJOR),
        ("warfarin", "apixaban", Risk.MAJOR),
        ("enoxaparin", "warfarin", Risk.MAJOR),
        ("enoxaparin", "clopidogrel", Risk.MAJOR),
        ("enoxaparin", "ibuprofen", Risk.MAJOR),
        ("enoxaparin", "aspirin", Risk.MODERATE),
        ("enoxaparin", "paracetamol", Risk.NONE),
        ("hydrocodone", "alprazolam", Risk.MAJOR),
        ("hydrocodone", "clarithromycin", Risk.MAJOR),
        ("hydrocodone", "paracetamol", Risk.NONE),
        ("pethidine", "phenelzine", Risk.CONTRAINDICATED),
        ("pethidine", "lorazepam", Risk.MAJOR),
        ("terfenadine", "ketoconazole", Risk.CONTRAINDICATED),
        ("terfenadine", "erythromycin", Risk.CONTRAINDICATED),
        ("astemizole", "itraconazole", Risk.CONTRAINDICATED),
        ("astemizole", "clarithromycin", Risk.CONTRAINDICATED),
        ("fexofenadine", "erythromycin", Risk.NONE),
        ("loratadine", "ketoconazole", Risk.NONE),
        ("ethinylestradiol", "rifampicin", Risk.MAJOR),
        ("ethinylestradiol", "carbamazepine", Risk.MAJOR),
        ("ethinylestradiol", "levonorgestrel", Risk.NONE),
        ("vancomycin", "gentamicin", Risk.MODERATE),
        ("vancomycin", "piperacillin", Risk.MODERATE),
        ("piperacillin", "tazobactam", Risk.NONE),
        ("alendronic acid", "naproxen", Risk.MODERATE),
        ("ferrous sulfate", "levothyroxine", Risk.MODERATE),
        ("ferrous sulfate", "ciprofloxacin", Risk.MODERATE),
        ("ferrous sulfate", "doxycycline", Risk.MODERATE),
        ("diphenhydramine", "amitriptyline", Risk.MODERATE),
        ("chlorphenamine", "oxycodone", Risk.MODERATE),
        ("norepinephrine", "vasopressin", Risk.NONE),
        ("epinephrine", "propranolol", Risk.MODERATE),
        ("metformin", "cyanocobalamin", Risk.NONE),
    ],
)
def test_required_pairs(curated, first, second, level):
    assert curated.pair_level(first, second) == level
    assert curated.pair_level(second, first) == level


def test_every_condition_key_is_known():
    used = {row["condition"] for row in rows("drug_conditions.csv")}
    assert used <= set(CONDITIONS)


@pytest.mark.parametrize(
    ("name", "drugs"),
    [
        ("alendronate sodium", ("alendronic acid",)),
        ("Epinephrine 1 MG/ML Injectable Solution", ("epinephrine",)),
        ("adrenaline", ("epinephrine",)),
        ("meperidine", ("pethidine",)),
        ("chlorpheniramine maleate", ("chlorphenamine",)),
        ("norethindrone", ("norethisterone",)),
        ("vitamin b12", ("cyanocobalamin",)),
        ("Hydrocodone Bitartrate 10 MG / Acetaminophen 325 MG Oral Tablet",
         ("hydrocodone", "paracetamol")),
        ("piperacillin 4000 MG / tazobactam 500 MG Injection", ("piperacillin", "tazobactam")),
    ],
)  # fmt: skip
def test_rxnorm_and_common_names_resolve(curated, name, drugs):
    assert curated.resolve_all(name) == drugs
