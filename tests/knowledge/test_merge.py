"""kb=curated_ddinter: who decides each pair, provenance, classes through ATC, the prior."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.knowledge import KnowledgeBase, PatientRecord, Risk, load_curated
from cdss.knowledge.kb import CURATED, DDINTER


def test_curated_drugs_keep_their_ids(merged_kb: KnowledgeBase) -> None:
    curated = load_curated()
    assert merged_kb.drugs[: len(curated.drugs)] == curated.drugs
    assert len(merged_kb.drugs) > 1500


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("lisinopril", "aspirin"),  # curated none through a class rule, DDInter moderate
        ("warfarin", "atorvastatin"),  # curated none, named
        ("warfarin", "paracetamol"),  # curated minor
        ("simvastatin", "clarithromycin"),  # curated contraindicated
    ],
)
def test_curated_level_wins_where_both_speak(
    merged_kb: KnowledgeBase, first: str, second: str
) -> None:
    curated = load_curated()
    assert merged_kb.pair_level(first, second) == curated.pair_level(first, second)
    assert merged_kb.pair_source(first, second) == ("curated",)
    assert merged_kb.pair_reasons(first, second) == curated.pair_reasons(first, second)


def test_explicit_none_overrides_ddinter_and_the_override_is_kept(
    merged_kb: KnowledgeBase,
) -> None:
    assert merged_kb.pair_level("lisinopril", "aspirin") == Risk.NONE
    (overridden,) = merged_kb.overridden_reasons("lisinopril", "aspirin")
    assert overridden.level == Risk.MODERATE and "DDInter" in overridden.source
    record = PatientRecord(70, "F", ("lisinopril",), frozenset())
    assert merged_kb.assess(record, "aspirin").level == Risk.NONE


def test_ddinter_speaks_where_the_curated_kb_is_silent(merged_kb: KnowledgeBase) -> None:
    assert merged_kb.pair_source("fluconazole", "metoprolol") == ("ddinter",)
    assert merged_kb.pair_level("fluconazole", "metoprolol") == Risk.MODERATE  # DDInter Unknown
    assert load_curated().pair_level("fluconazole", "metoprolol") == Risk.NONE


def test_curated_class_rules_reach_ddinter_drugs_through_atc(merged_kb: KnowledgeBase) -> None:
    assert "ketorolac" in merged_kb.members("nsaid")
    assert merged_kb.pair_level("warfarin", "ketorolac") == Risk.MAJOR
    assert merged_kb.pair_source("warfarin", "ketorolac") == ("curated", "ddinter")
    kinds = {r.source.split(" ")[0] for r in merged_kb.pair_reasons("warfarin", "ketorolac")}
    assert "DDInter" in kinds and "FDA" in kinds
    ulcer = PatientRecord(70, "F", (), frozenset({"peptic_ulcer"}))
    assert merged_kb.assess(ulcer, "ketorolac").level >= Risk.MAJOR  # curated condition rule


def test_maoi_class_reaches_ddinter_maois(merged_kb: KnowledgeBase) -> None:
    assert "isocarboxazid" in merged_kb.members("maoi")
    assert merged_kb.pair_level("isocarboxazid", "sertraline") == Risk.CONTRAINDICATED
    assert merged_kb.pair_level("phenelzine", "sertraline") == Risk.CONTRAINDICATED


def test_extrapolated_class_rule_never_lowers_ddinter(merged_kb: KnowledgeBase) -> None:
    """Where a class rule reaches a DDInter-only drug, the worse of both levels is kept."""
    k = len(load_curated().drugs)
    both = (merged_kb.pair_sources == CURATED | DDINTER).copy()
    both[:k, :k] = False
    evidence = merged_kb.evidence
    rows, cols = np.nonzero(both)
    assert rows.size > 0
    for i, j in zip(rows[:500].tolist(), cols[:500].tolist(), strict=True):
        assert merged_kb.pair_levels[i, j] >= evidence.level(i, j)


def test_pair_sources_cover_every_level(merged_kb: KnowledgeBase) -> None:
    assert not (merged_kb.pair_levels[merged_kb.pair_sources == 0]).any()
    assert (merged_kb.pair_sources == merged_kb.pair_sources.T).all()


def test_names_from_every_source(merged_kb: KnowledgeBase) -> None:
    assert merged_kb.resolve("Acetylsalicylic acid") == "aspirin"  # DDInter's name
    assert merged_kb.resolve("Tylenol") == "paracetamol"  # curated brand name
    assert merged_kb.resolve("N-acetyl-p-aminophenol") == "paracetamol"  # DrugBank synonym
    assert merged_kb.resolve("Ketorolac (ophthalmic)") == "ketorolac"


def test_frequency_prior_favours_curated_drugs(merged_kb: KnowledgeBase) -> None:
    k = len(load_curated().drugs)
    weights = merged_kb.drug_weights
    assert np.isclose(weights.sum(), 1.0) and (weights > 0).all()
    assert np.isclose(weights[:k].sum(), 0.8)
    assert weights[:k].min() > weights[k:].max()


def test_report_shows_what_the_merge_did(merged_kb: KnowledgeBase) -> None:
    counts = merged_kb.load_report.counts
    assert counts["raw (before any merging)"]["unique pairs"] == 160_235
    placing = counts["placing DDInter drugs among the curated ones"]
    assert placing["curated drugs found in DDInter"] >= 110
    combining = counts["combining curated and DDInter pairs"]
    assert combining["both, curated decides"] > 0
    assert combining["class rule via ATC, worse of both"] > 0
    assert counts["curated classes against ATC"]["disagreements"] == 0
    assert "unobtainium" not in merged_kb.load_report.render()


def test_curated_share_is_adjustable() -> None:
    from cdss.knowledge.ddinter import frequency_prior

    weights = frequency_prior(np.array([0, 3, 1, 4]), curated=1, curated_share=0.5)
    assert np.allclose(weights, [0.5, 0.5 * 3 / 8, 0.5 * 1 / 8, 0.5 * 4 / 8])
