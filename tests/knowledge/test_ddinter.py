"""The eight DDInter files of ../shared/data as `kb=ddinter`: counts, names, tables, speed."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from cdss.knowledge import (
    CONDITIONS,
    KnowledgeBase,
    PatientRecord,
    Risk,
    UnknownDrugError,
    load_ddinter,
)
from cdss.knowledge.ddinter import LABELS
from tests.knowledge.conftest import DDINTER, shared_data

RAW = "raw (before any merging)"
MERGING = "merging records by name (route, salt, formulation qualifiers)"


def test_load_report_raw_counts(ddinter_kb: KnowledgeBase) -> None:
    """The figures of ../shared/data/ddinter/SOURCE.md, before any merging."""
    report = ddinter_kb.load_report
    assert report.counts[RAW] == {
        "rows": 222_383,
        "drug records": 1_939,
        "unique pairs": 160_235,
        "repeated rows": 222_383 - 160_235,
        "pairs with conflicting levels": 0,
    }
    assert report.counts["raw pairs"] == {
        "major": 26_914,
        "moderate": 96_675,
        "minor": 6_833,
        "unknown": 29_813,
    }
    assert report.counts["file ddinter_downloads_code_A.csv"]["rows"] == 56_367
    text = report.render()
    assert "unique pairs 160,235" in text and "drug records 1,939" in text


def test_merging_is_reported_apart_from_the_raw_counts(ddinter_kb: KnowledgeBase) -> None:
    merging = ddinter_kb.load_report.counts[MERGING]
    assert merging["records"] == 1_939 and merging["drugs"] == len(ddinter_kb.drugs) < 1_939
    assert 0 < merging["pairs"] < 160_235
    assert merging["pairs with conflicting levels (worst kept)"] > 0
    merged = ddinter_kb.load_report.counts["merged pairs"]
    assert sum(merged.values()) == merging["pairs"]
    assert merged["unknown"] == 29_813  # unknown pairs survive merging, never dropped


@pytest.mark.parametrize("aspirin", ["Aspirin", "aspirin ", "ASPIRIN", "Acetylsalicylic acid"])
def test_warfarin_with_aspirin_is_major(ddinter_kb: KnowledgeBase, aspirin: str) -> None:
    assert ddinter_kb.pair_level("warfarin", aspirin) == Risk.MAJOR
    assert ddinter_kb.resolve(aspirin) == "acetylsalicylic acid"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("APAP", "acetaminophen"),  # DrugBank synonyms (the open vocabulary has no brands)
        ("Paracetamol 500 mg tablet", "acetaminophen"),
        ("Aspirin 81 MG Oral Tablet", "acetylsalicylic acid"),  # a Synthea description
        ("Dexamethasone (ophthalmic)", "dexamethasone"),  # merged by its route qualifier
        ("warfarin sodium", "warfarin"),
        ("  Warfarin  ", "warfarin"),
    ],
)
def test_names_resolve(ddinter_kb: KnowledgeBase, written: str, canonical: str) -> None:
    assert ddinter_kb.resolve(written) == canonical


def test_unresolvable_name_is_unknown_not_no_interaction(ddinter_kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownDrugError, match="unobtainium"):
        ddinter_kb.pair_level("warfarin", "unobtainium")
    patient = PatientRecord(70, "F", ("unobtainium",), frozenset())
    with pytest.raises(UnknownDrugError):
        ddinter_kb.assess(patient, "warfarin")


def test_merged_level_is_the_worst_of_its_records(ddinter_kb: KnowledgeBase) -> None:
    """Over the whole table: each merged pair has the worst rank of the records behind it."""
    evidence = ddinter_kb.evidence
    n = len(ddinter_kb.drugs)
    records = np.full(sum(len(m) for m in evidence.members), -1)
    for drug, members in enumerate(evidence.members):
        records[list(members)] = drug
    worst = np.zeros((n, n), dtype=np.uint8)
    rows, cols = np.nonzero(evidence.raw_ranks)
    np.maximum.at(worst, (records[rows], records[cols]), evidence.raw_ranks[rows, cols])
    np.fill_diagonal(worst, 0)
    assert (evidence.rank_labels[worst] == evidence.labels).all()


def test_unknown_pairs_warn_by_default(ddinter_kb: KnowledgeBase) -> None:
    labels = ddinter_kb.evidence.labels
    unknown = labels == LABELS.index("unknown")
    assert unknown.any()
    assert (ddinter_kb.pair_levels[unknown] == Risk.MODERATE).all()
    assert (ddinter_kb.pair_sources[unknown] != 0).all()


def test_table_invariants(ddinter_kb: KnowledgeBase) -> None:
    kb = ddinter_kb
    n = len(kb.drugs)
    assert kb.pair_levels.shape == (n, n) and kb.pair_levels.dtype == np.int8
    assert (kb.pair_levels == kb.pair_levels.T).all()
    assert (np.diag(kb.pair_levels) == 0).all() and (np.diag(kb.pair_sources) == 0).all()
    assert (kb.severe_counts == (kb.pair_levels >= Risk.MAJOR).sum(axis=1)).all()
    assert kb.condition_levels.shape == (n, len(CONDITIONS)) and not kb.condition_levels.any()
    assert len(kb.lab_rules) == n and len(kb.atc_codes) == n


def test_every_alerting_cell_has_a_reason_with_that_level(ddinter_kb: KnowledgeBase) -> None:
    kb = ddinter_kb
    rows, cols = np.nonzero(kb.pair_levels)
    chosen = np.random.default_rng(0).choice(rows.size, size=2000, replace=False)
    for i, j in zip(rows[chosen].tolist(), cols[chosen].tolist(), strict=True):
        reasons = kb.pair_reasons(kb.drugs[i], kb.drugs[j])
        assert max(r.level for r in reasons) == kb.pair_levels[i, j]
        assert all(r.subject == kb.drugs[j] and "DDInter" in r.source for r in reasons)


def test_classes_come_from_atc_codes(ddinter_kb: KnowledgeBase) -> None:
    assert "ketorolac" in ddinter_kb.members("nsaid")
    assert "warfarin" in ddinter_kb.members("anticoagulant")
    assert "M01AB15" in ddinter_kb.atc_codes[ddinter_kb.drug_id("ketorolac")]
    assert "qt_known_risk" not in ddinter_kb.classes  # no ATC prefix: curated members only


def test_frequency_prior(ddinter_kb: KnowledgeBase) -> None:
    weights = ddinter_kb.drug_weights
    assert weights.shape == (len(ddinter_kb.drugs),) and np.isclose(weights.sum(), 1.0)
    assert (weights > 0).all()
    partners = np.count_nonzero(ddinter_kb.pair_sources, axis=1)
    busiest, loneliest = int(partners.argmax()), int(partners.argmin())
    assert weights[busiest] > weights[loneliest]


def test_assess_is_fast_on_ddinter(ddinter_kb: KnowledgeBase) -> None:
    drugs = ("warfarin", "metoprolol", "amlodipine", "atorvastatin", "lisinopril")
    drugs += ("metformin", "omeprazole", "citalopram", "furosemide", "aspirin")
    patient = PatientRecord(80, "F", drugs, frozenset({"ckd"}), {"egfr": 40.0})
    ddinter_kb.assess(patient, "fluconazole")
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        ddinter_kb.assess(patient, "fluconazole")
    per_call = (time.perf_counter() - start) / rounds
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} us per assess"


def test_pickle_round_trip(ddinter_kb: KnowledgeBase) -> None:
    clone = pickle.loads(pickle.dumps(ddinter_kb))
    assert clone.content_hash == ddinter_kb.content_hash
    assert clone.pair_reasons("warfarin", "aspirin") == ddinter_kb.pair_reasons(
        "warfarin", "aspirin"
    )


def test_without_vocabulary_the_report_says_so() -> None:
    shared_data()
    kb = load_ddinter(DDINTER / "ddinter_downloads_code_P.csv")
    assert any("no DrugBank vocabulary" in note for note in kb.load_report.notes)
    assert kb.pair_level("Zidovudine", "atovaquone") == Risk.MINOR  # DDInter's own names
    with pytest.raises(UnknownDrugError, match=r"kb\.vocabulary"):
        kb.resolve("APAP")
