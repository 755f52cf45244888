"""DrugBank vocabulary, ATC index and our class-to-ATC table: reading, checking, linking."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cdss.knowledge import CURATED_DIR, KnowledgeBaseError, Risk, load_kb
from cdss.knowledge.names import merge_key
from cdss.knowledge.report import LoadReport
from cdss.knowledge.vocabulary import (
    CLASS_ATC_PATH,
    AliasIndex,
    load_atc,
    load_class_atc,
    load_vocabulary,
)
from tests.knowledge.conftest import ATC, VOCABULARY, shared_data

VOCABULARY_HEADER = (
    "DrugBank ID,Accession Numbers,Common name,CAS,UNII,Synonyms,Standard InChI Key\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_vocabulary_common_names_and_synonyms(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "vocab.csv",
        VOCABULARY_HEADER
        + 'DB00945,x,Acetylsalicylic acid,,,"Aspirin | ASA | Acetylsalicylic acid",\n'
        + "DB00316,x,Acetaminophen,,,APAP | Paracetamol | ASA,\n",
    )
    vocabulary = load_vocabulary(path)
    assert vocabulary.concept(["aspirin"]) == 0 and vocabulary.concept(["PARACETAMOL"]) == 1
    assert vocabulary.concept(["asa"]) is None  # claimed by two drugs: left out
    assert vocabulary.ambiguous == 1


def test_vocabulary_duplicate_id_fails(tmp_path: Path) -> None:
    text = VOCABULARY_HEADER + "DB1,x,A,,,,\nDB1,x,B,,,,\n"
    with pytest.raises(KnowledgeBaseError, match="line 3: DrugBank ID DB1 listed twice"):
        load_vocabulary(_write(tmp_path, "vocab.csv", text))


def test_vocabulary_missing_column_fails(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"missing column\(s\) synonyms"):
        load_vocabulary(_write(tmp_path, "vocab.csv", "DrugBank ID,Common name\nDB1,A\n"))


def test_atc_index_bad_code_fails(tmp_path: Path) -> None:
    text = "atc_code,atc_name,ddd\nB01AA03,warfarin,NA\nB01-X,bad,NA\n"
    with pytest.raises(KnowledgeBaseError, match="line 3: 'B01-X' is not an ATC code"):
        load_atc(_write(tmp_path, "atc.csv", text))


def test_atc_names_with_and_without_salts(tmp_path: Path) -> None:
    text = (
        "atc_code,atc_name\nH03AA01,levothyroxine sodium\nB01AC06,acetylsalicylic acid\n"
        "N02BA01,acetylsalicylic acid\nB01AC,Platelet aggregation inhibitors\n"
    )
    index = load_atc(_write(tmp_path, "atc.csv", text))
    assert index.codes(["Acetylsalicylic acid"]) == ("B01AC06", "N02BA01")
    assert index.codes(["levothyroxine"]) == ()
    assert index.codes_loose(["Levothyroxine"]) == ("H03AA01",)


def test_class_atc_table_rejects_bad_prefixes(tmp_path: Path) -> None:
    text = "class,atc_prefixes,note\nnsaid,M01A;not-a-code,x\n"
    with pytest.raises(KnowledgeBaseError, match="line 2: NOT-A-CODE not ATC code"):
        load_class_atc(_write(tmp_path, "class_atc.csv", text))


def test_shipped_class_table_names_curated_classes_only() -> None:
    """Our own table: every class exists in the curated KB, every entry is a code prefix."""
    table = load_class_atc(CLASS_ATC_PATH)
    with (CURATED_DIR / "classes.csv").open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    curated = {row["class"] for row in csv.DictReader(lines)}
    assert set(table.prefixes) <= curated
    assert {"nsaid", "anticoagulant", "ssri", "maoi"} <= set(table.prefixes)
    assert table.classes_of(["M01AB15"]) == ("nsaid",)
    assert "antiplatelet" in table.classes_of(["B01AC06"])


def test_alias_tiers_and_ambiguity() -> None:
    aliases = AliasIndex()
    aliases.claim("Aspirin", 0, tier=0)
    aliases.claim("aspirin", 1, tier=3)  # a weaker claim never takes a name
    aliases.claim("ASA", 0, tier=3)
    aliases.claim("asa", 2, tier=3)  # same tier, another drug: ambiguous, dropped
    assert aliases.result() == {"aspirin": 0}
    assert aliases.ambiguous == {"asa"}


def test_merge_key() -> None:
    assert merge_key("Diclofenac (topical)") == "diclofenac"
    assert merge_key("Benzylpenicillin (potassium)") == "benzylpenicillin"
    assert merge_key("Human immunoglobulin G (intravenous and subcutaneous)") == (
        "human immunoglobulin g"
    )
    assert merge_key("Insulin human (isophane)") == "insulin human (isophane)"
    assert merge_key("Iobenguane (I-123)") == "iobenguane (i-123)"


def test_curated_kb_with_vocabulary_and_atc() -> None:
    shared_data()
    kb = load_kb(vocabulary=VOCABULARY, atc=ATC)
    assert kb.resolve("N-acetyl-p-aminophenol") == "paracetamol"  # DrugBank synonym
    assert kb.pair_level("warfarin", "Acetylsalicylic acid") == Risk.MAJOR
    assert kb.atc_codes[kb.drug_id("warfarin")] == ("B01AA03",)
    assert kb.load_report.get("curated classes against ATC", "disagreements") == 0
    assert kb.content_hash != load_kb().content_hash  # the hash covers every file read


def test_load_report_render() -> None:
    report = LoadReport("demo", "abc")
    report.add("raw", {"unique pairs": 160235})
    report.missing("names", [f"drug{i}" for i in range(20)])
    report.note("a note")
    text = report.render()
    assert text.startswith("demo: OK, hash abc")
    assert "raw: unique pairs 160,235" in text
    assert "unresolved names (20): drug0; drug1" in text and "(8 more)" in text
    assert "note: a note" in text
