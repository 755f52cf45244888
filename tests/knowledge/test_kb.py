"""The tables and `assess`: class expansion, overrides, duplicates, reasons, speed, pickling."""

from __future__ import annotations

import pickle
import time

import joblib
import numpy as np
import pytest

from cdss.knowledge import (
    CONDITIONS,
    LABS,
    Assessment,
    PatientRecord,
    Reason,
    Risk,
    UnknownDrugError,
)


def record(drugs=(), conditions=(), labs=None) -> PatientRecord:
    return PatientRecord(70, "F", tuple(drugs), frozenset(conditions), dict(labs or {}))


# --- table invariants, on the tiny and the curated KB ------------------------------------------


@pytest.mark.parametrize("kb_name", ["tiny_kb", "curated"])
def test_table_invariants(kb_name, request):
    kb = request.getfixturevalue(kb_name)
    n = len(kb.drugs)
    assert kb.pair_levels.shape == (n, n) and kb.pair_levels.dtype == np.int8
    assert (kb.pair_levels == kb.pair_levels.T).all()
    assert (np.diag(kb.pair_levels) == 0).all()
    assert kb.pair_levels.min() >= Risk.NONE and kb.pair_levels.max() <= Risk.CONTRAINDICATED
    assert kb.condition_levels.shape == (n, len(CONDITIONS))
    assert kb.condition_levels.dtype == np.int8
    assert len(kb.lab_rules) == n
    assert (kb.severe_counts == (kb.pair_levels >= Risk.MAJOR).sum(axis=1)).all()
    assert all(rule.lab in LABS for rules in kb.lab_rules for rule in rules)


@pytest.mark.parametrize("kb_name", ["tiny_kb", "curated"])
def test_every_alerting_cell_has_a_reason_with_that_level(kb_name, request):
    kb = request.getfixturevalue(kb_name)
    for i, j in zip(*np.nonzero(kb.pair_levels), strict=True):
        reasons = kb.pair_reasons(kb.drugs[i], kb.drugs[j])
        assert max(r.level for r in reasons) == kb.pair_levels[i, j]
        assert all(r.source and r.subject == kb.drugs[j] for r in reasons)


def test_tables_are_read_only(tiny_kb):
    with pytest.raises(ValueError):
        tiny_kb.pair_levels[0, 1] = 4


# --- class expansion, overrides and duplicate therapy -------------------------------------------


def test_class_rule_expands_to_members(tiny_kb):
    assert tiny_kb.pair_level("warfarin", "ibuprofen") == Risk.MAJOR
    (reason,) = tiny_kb.pair_reasons("warfarin", "ibuprofen")
    assert reason == Reason("interaction", Risk.MAJOR, "ibuprofen", "bleeding", "class source")


def test_named_pair_overrides_the_class_rule(tiny_kb):
    assert tiny_kb.pair_level("warfarin", "naproxen") == Risk.MODERATE
    assert [r.detail for r in tiny_kb.pair_reasons("warfarin", "naproxen")] == ["named pair"]


def test_named_condition_overrides_the_class_rule(tiny_kb):
    ibuprofen, naproxen = tiny_kb.drug_id("ibuprofen"), tiny_kb.drug_id("naproxen")
    ckd = CONDITIONS.index("ckd")
    assert tiny_kb.condition_levels[ibuprofen, ckd] == Risk.MAJOR
    assert tiny_kb.condition_levels[naproxen, ckd] == Risk.MODERATE


def test_duplicate_therapy_is_a_pair_level(tiny_kb):
    assert tiny_kb.pair_level("ibuprofen", "naproxen") == Risk.MODERATE
    (reason,) = tiny_kb.pair_reasons("ibuprofen", "naproxen")
    assert reason.kind == "duplicate" and "NSAIDs" in reason.detail


def test_pair_judged_none_is_kept_as_a_reason_but_not_an_alert(tiny_kb):
    assert tiny_kb.pair_level("lisinopril", "metformin") == Risk.NONE
    assert tiny_kb.pair_reasons("lisinopril", "metformin")[0].detail == "judged irrelevant"
    assert tiny_kb.assess(record(["lisinopril"]), "metformin") == Assessment(Risk.NONE, ())


def test_curated_class_expansion_and_duplicates(curated):
    assert curated.pair_level("simvastatin", "itraconazole") == Risk.CONTRAINDICATED
    assert curated.pair_level("apixaban", "diclofenac") == Risk.MAJOR
    assert curated.pair_level("sertraline", "fluoxetine") == Risk.MAJOR  # two SSRIs
    assert curated.pair_level("ibuprofen", "celecoxib") == Risk.MODERATE  # two NSAIDs
    assert curated.pair_level("citalopram", "ondansetron") == Risk.MODERATE  # QT + QT
    assert curated.pair_level("amiodarone", "levofloxacin") == Risk.MAJOR
    assert curated.pair_level("warfarin", "atorvastatin") == Risk.NONE  # named over class
    assert "duplicate" in {r.kind for r in curated.pair_reasons("naproxen", "ibuprofen")}


# --- assess -------------------------------------------------------------------------------------


def test_assess_collects_every_reason_worst_first(tiny_kb):
    patient = record(["warfarin", "naproxen"], ["ckd"], {"egfr": 25.0})
    result = tiny_kb.assess(patient, "ibuprofen")
    assert result.level == Risk.MAJOR
    found = {(r.kind, r.subject, r.level) for r in result.reasons}
    assert found == {
        ("interaction", "warfarin", Risk.MAJOR),
        ("duplicate", "naproxen", Risk.MODERATE),
        ("condition", "ckd", Risk.MAJOR),
        ("lab", "egfr", Risk.MAJOR),
    }
    levels = [r.level for r in result.reasons]
    assert levels == sorted(levels, reverse=True)
    assert all(r.detail and r.source for r in result.reasons)


def test_assess_lab_thresholds_are_strict_and_all_matching_rules_reported(tiny_kb):
    metformin = "metformin"
    assert tiny_kb.assess(record(labs={"egfr": 45.0}), metformin).level == Risk.NONE
    assert tiny_kb.assess(record(labs={"egfr": 44.0}), metformin).level == Risk.MODERATE
    result = tiny_kb.assess(record(labs={"egfr": 29.0}), metformin)
    assert result.level == Risk.CONTRAINDICATED
    assert [r.level for r in result.reasons] == [Risk.CONTRAINDICATED, Risk.MODERATE]
    assert result.reasons[0].detail.startswith("egfr < 30")


def test_assess_is_the_worst_over_single_facts(curated):
    """The risk decomposes: assessing the whole record equals the max over one-fact records."""
    drugs = ("warfarin", "lisinopril", "citalopram", "metformin")
    conditions = ("ckd", "heart_failure", "peptic_ulcer")
    labs = {"egfr": 25.0, "potassium": 5.6, "qtc": 510.0, "inr": 4.8, "alt": 200.0}
    for order in ("ibuprofen", "spironolactone", "ondansetron", "metformin", "warfarin"):
        whole = curated.assess(record(drugs, conditions, labs), order).level
        parts = [curated.assess(record([d]), order).level for d in drugs]
        parts += [curated.assess(record(conditions=[c]), order).level for c in conditions]
        parts += [curated.assess(record(labs={k: v}), order).level for k, v in labs.items()]
        assert whole == max(parts), order


def test_assess_accepts_synonyms_salts_and_combinations(curated):
    patient = record(["Coumadin", "budesonide-formoterol inhaler"])
    assert curated.assess(patient, "Diflucan 150 mg capsule").level == Risk.MAJOR
    assert curated.assess(patient, "propranolol hydrochloride").level == Risk.MAJOR
    both = curated.assess(record(["lisinopril"]), "sacubitril-valsartan")
    assert both.level == Risk.CONTRAINDICATED


def test_assess_unknown_drug_raises(tiny_kb):
    with pytest.raises(UnknownDrugError, match="aspirin"):
        tiny_kb.assess(record(["aspirin"]), "ibuprofen")
    with pytest.raises(UnknownDrugError, match="aspirin"):
        tiny_kb.assess(record(), "aspirin")


def test_lab_level_and_relevant_facts(curated):
    metformin = curated.drug_id("metformin")
    assert curated.lab_level(metformin, "egfr", 25) == Risk.CONTRAINDICATED
    assert curated.lab_level(metformin, "egfr", 40) == Risk.MODERATE
    assert curated.lab_level(metformin, "egfr", 90) == Risk.NONE
    assert curated.lab_level(metformin, "qtc", 600) == Risk.NONE
    assert curated.relevant_labs(metformin) == ("egfr",)
    assert "ckd" not in curated.relevant_conditions(metformin)  # judged none: eGFR decides
    spironolactone = curated.drug_id("spironolactone")
    assert curated.relevant_labs(spironolactone) == ("egfr", "potassium")
    assert curated.relevant_conditions(curated.drug_id("propranolol"))[:1] == ("asthma",)


def test_order_severe_counts(curated):
    assert curated.severe_counts[curated.drug_id("warfarin")] >= 5
    assert curated.severe_counts[curated.drug_id("paracetamol")] == 0


def test_assess_is_fast(curated):
    patient = record(
        [
            "warfarin",
            "metoprolol",
            "amlodipine",
            "atorvastatin",
            "lisinopril",
            "metformin",
            "omeprazole",
            "citalopram",
            "furosemide",
            "aspirin",
        ],
        ["ckd", "atrial_fibrillation", "diabetes"],
        {"egfr": 40.0, "potassium": 5.2, "inr": 2.5, "qtc": 470.0, "alt": 30.0},
    )
    curated.assess(patient, "fluconazole")
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        curated.assess(patient, "fluconazole")
    per_call = (time.perf_counter() - start) / rounds
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} us per assess"


def test_pickle_and_joblib_round_trip(curated, tmp_path):
    patient = record(["warfarin", "ibuprofen"], ["peptic_ulcer"], {"egfr": 20.0})
    clone = pickle.loads(pickle.dumps(curated))
    assert clone.content_hash == curated.content_hash
    assert clone.assess(patient, "naproxen") == curated.assess(patient, "naproxen")
    joblib.dump(curated, tmp_path / "kb.joblib")
    loaded = joblib.load(tmp_path / "kb.joblib")
    assert (loaded.pair_levels == curated.pair_levels).all()
    assert loaded.resolve("Tylenol") == "paracetamol"
