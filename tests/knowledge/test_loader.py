"""Loading validates every file: each malformed input fails with file, line and problem."""

from __future__ import annotations

import hashlib

import pytest

from cdss.knowledge import KnowledgeBaseError, Risk, load_kb
from cdss.knowledge.loader import SCHEMA
from tests.knowledge.conftest import TINY_KB, WriteKB


def _fails(write_kb: WriteKB, file: str, text: str | bytes) -> str:
    folder = write_kb(**{file: text})
    with pytest.raises(KnowledgeBaseError) as caught:
        load_kb(folder)
    message = str(caught.value)
    assert file in message, message
    return message


def _with_row(file: str, row: str) -> str:
    return TINY_KB[file] + row + "\n"


def test_tiny_kb_loads(tiny_kb):
    assert tiny_kb.name == "tiny"
    assert len(tiny_kb.drugs) == 6
    assert tiny_kb.pair_level("warfarin", "ibuprofen") == Risk.MAJOR


def test_error_is_a_value_error():
    assert issubclass(KnowledgeBaseError, ValueError)


def test_unknown_level(write_kb):
    row = "warfarin,metformin,severe,x,y"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "unknown level 'severe'" in message


def test_pair_listed_twice_with_different_levels(write_kb):
    row = "paracetamol,warfarin,moderate,x,y"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "listed twice" in message and "line 4" in message


def test_pair_listed_twice_with_same_level_is_kept_once(write_kb, caplog):
    text = _with_row("interactions.csv", "paracetamol,warfarin,minor,again,y")
    kb = load_kb(write_kb(interactions_csv=text))
    assert len(kb.pair_reasons("warfarin", "paracetamol")) == 1
    assert "repeats line 4" in caplog.text


def test_drug_interacting_with_itself(write_kb):
    row = "warfarin,Coumadin,major,x,y"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "interacts with itself" in message


def test_rule_naming_unknown_drug(write_kb):
    row = "warfarin,aspirin,major,x,y"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "unknown drug 'aspirin'" in message


def test_rule_naming_unknown_class(write_kb):
    row = "class:statin,ckd,major,x,y"
    message = _fails(write_kb, "drug_conditions.csv", _with_row("drug_conditions.csv", row))
    assert "line 5" in message and "unknown class 'statin'" in message


def test_rule_naming_unknown_condition(write_kb):
    row = "metformin,kidney,major,x,y"
    message = _fails(write_kb, "drug_conditions.csv", _with_row("drug_conditions.csv", row))
    assert "line 5" in message and "unknown condition 'kidney'" in message


def test_rule_naming_unknown_lab(write_kb):
    row = "metformin,creatinine,>,2,major,x,y"
    message = _fails(write_kb, "drug_labs.csv", _with_row("drug_labs.csv", row))
    assert "line 5" in message and "unknown lab 'creatinine'" in message


@pytest.mark.parametrize(
    ("op", "threshold", "problem"),
    [("<=", "30", "unknown op"), ("<", "thirty", "not a number"), ("<", "nan", "not finite")],
)
def test_bad_lab_threshold(write_kb, op, threshold, problem):
    row = f"metformin,egfr,{op},{threshold},major,x,y"
    message = _fails(write_kb, "drug_labs.csv", _with_row("drug_labs.csv", row))
    assert "line 5" in message and problem in message


def test_drug_naming_unknown_class(write_kb):
    row = "aspirin,antiplatelet,,WHO ATC B01AC06"
    message = _fails(write_kb, "drugs.csv", _with_row("drugs.csv", row))
    assert "line 8" in message and "unknown class 'antiplatelet'" in message


def test_drug_listing_a_class_twice(write_kb):
    text = TINY_KB["drugs.csv"].replace(
        "warfarin,anticoagulant,", "warfarin,anticoagulant;anticoagulant,", 1
    )
    message = _fails(write_kb, "drugs.csv", text)
    assert "lists class 'anticoagulant' twice" in message


def test_synonym_claimed_by_two_drugs(write_kb):
    row = "aspirin,,advil,WHO ATC B01AC06"
    message = _fails(write_kb, "drugs.csv", _with_row("drugs.csv", row))
    assert "line 8" in message and "already belongs to drug 'ibuprofen'" in message


def test_missing_column(write_kb):
    text = TINY_KB["interactions.csv"].replace(",source\n", "\n", 1)
    message = _fails(write_kb, "interactions.csv", text)
    assert "line 1" in message and "missing column(s) source" in message


def test_empty_file(write_kb):
    message = _fails(write_kb, "drug_labs.csv", "")
    assert "empty file" in message


def test_file_with_only_comments_is_empty(write_kb):
    message = _fails(write_kb, "classes.csv", "# nothing here\n\n")
    assert "empty file" in message


def test_drugs_file_with_only_a_header(write_kb):
    message = _fails(write_kb, "drugs.csv", "name,classes,synonyms,source\n")
    assert "no drugs" in message


def test_drug_listed_twice(write_kb):
    message = _fails(write_kb, "drugs.csv", _with_row("drugs.csv", "Warfarin,,,WHO ATC"))
    assert "line 8" in message and "already belongs to drug 'warfarin'" in message


def test_rule_files_may_hold_only_a_header(write_kb):
    kb = load_kb(write_kb(drug_labs_csv="drug,lab,op,threshold,level,detail,source\n"))
    assert all(rules == () for rules in kb.lab_rules)


def test_too_few_fields(write_kb):
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", "warfarin,x"))
    assert "line 6" in message and "too few fields (expected 5, found 2)" in message


def test_too_many_fields(write_kb):
    row = "warfarin,metformin,minor,a,b,c"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "too many fields" in message


def test_empty_source(write_kb):
    row = "warfarin,metformin,minor,detail,"
    message = _fails(write_kb, "interactions.csv", _with_row("interactions.csv", row))
    assert "line 6" in message and "empty source" in message


def test_non_utf8_bytes(write_kb):
    text = _with_row("interactions.csv", "warfarin,metformin,minor,caf\xe9,y")
    message = _fails(write_kb, "interactions.csv", text.encode("latin-1"))
    assert "line 6" in message and "not valid UTF-8" in message


def test_missing_file(write_kb):
    folder = write_kb()
    (folder / "drug_labs.csv").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"drug_labs\.csv: file missing"):
        load_kb(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="not a folder"):
        load_kb(tmp_path / "absent")


def test_real_world_csv_quirks_load_the_same(write_kb, tiny_kb):
    """BOM, CRLF, quoted fields, stray spaces, blank and comment lines change nothing."""
    quirky = (
        "\ufeff# exported from a spreadsheet\r\n"
        "drug_a , drug_b , level , detail , source\r\n"
        "\r\n"
        ' warfarin ,  class:NSAID , Major , "bleeding" , "class source"\r\n'
        '# a comment, with "quotes" and commas\r\n'
        'Warfarin,"naproxen",moderate,"named pair",named source\r\n'
        "  , , , ,  \r\n"
        'warfarin,paracetamol, minor ,"INR with regular use",low-priority list\r\n'
        "LISINOPRIL,metformin,none,judged irrelevant,judgement source\r\n"
    )
    kb = load_kb(write_kb(interactions_csv=quirky.encode("utf-8")))
    assert (kb.pair_levels == tiny_kb.pair_levels).all()
    assert kb.pair_reasons("warfarin", "ibuprofen") == tiny_kb.pair_reasons("warfarin", "ibuprofen")


def test_quoted_field_with_comma_and_line_numbers_after_it(write_kb):
    text = TINY_KB["interactions.csv"] + '"warfarin","metformin","minor","a, b","c"\nwarfarin,x\n'
    message = _fails(write_kb, "interactions.csv", text)
    assert "line 7" in message


def test_nothing_is_half_loaded(write_kb):
    """A bad last file fails the whole load; no KB object escapes."""
    folder = write_kb(drug_labs_csv=_with_row("drug_labs.csv", "metformin,egfr,<,30,bad,x,y"))
    with pytest.raises(KnowledgeBaseError):
        load_kb(folder)


def test_content_hash_is_sha256_over_the_files_in_order(write_kb):
    folder = write_kb()
    digest = hashlib.sha256()
    for name in SCHEMA:
        digest.update(name.encode() + b"\n")
        digest.update((folder / name).read_bytes())
    assert load_kb(folder).content_hash == digest.hexdigest()


def test_content_hash_is_stable_and_tracks_content(write_kb):
    folder = write_kb()
    first, again = load_kb(folder).content_hash, load_kb(folder).content_hash
    assert first == again
    changed = write_kb(interactions_csv=_with_row("interactions.csv", "# a new comment"))
    assert load_kb(changed).content_hash != first


def test_entry_counts(tiny_kb):
    counts = tiny_kb.summary()
    assert counts["drugs"] == 6 and counts["classes"] == 2
    assert counts["interactions.csv"] == 4
    assert counts["interactions.none"] == 1 and counts["interactions.major"] == 1
    assert counts["lab_rules"] == 4  # metformin 2, ibuprofen 1, naproxen 1
