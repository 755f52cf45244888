"""DDInter-style files: each malformed file fails with file, line and problem; exports load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cdss.knowledge import KnowledgeBaseError, Risk, UnknownDrugError, load_ddinter
from tests.knowledge.conftest import DDINTER_HEADER, TINY_DDINTER, WriteDDInter


def _fails(path: Path) -> str:
    with pytest.raises(KnowledgeBaseError) as caught:
        load_ddinter(path)
    message = str(caught.value)
    assert path.name in message, message
    return message


def _same_kb(path: Path, reference: Path) -> None:
    kb, clean = load_ddinter(path), load_ddinter(reference)
    assert kb.drugs == clean.drugs
    assert (kb.pair_levels == clean.pair_levels).all()
    assert (
        kb.load_report.counts["raw (before any merging)"]
        == (clean.load_report.counts["raw (before any merging)"])
    )


# --- the tiny file itself -------------------------------------------------------------------------


def test_tiny_file_loads(write_ddinter: WriteDDInter) -> None:
    kb = load_ddinter(write_ddinter())
    assert kb.pair_level("warfarin", "acetylsalicylic acid") == Risk.MAJOR
    assert kb.pair_level("Acetylsalicylic acid", "Warfarin") == Risk.MAJOR
    raw = kb.load_report.counts["raw (before any merging)"]
    assert raw == {
        "rows": 7,
        "drug records": 6,
        "unique pairs": 6,  # the first two rows are one pair in both orders
        "repeated rows": 1,
        "pairs with conflicting levels": 0,
    }


def test_pairs_in_both_orders_and_files_are_one_pair(write_ddinter: WriteDDInter) -> None:
    first = write_ddinter(name="a.csv")
    write_ddinter(
        DDINTER_HEADER + "DDInter20,Acetylsalicylic acid,DDInter1951,Warfarin,Major\n", "b.csv"
    )
    kb = load_ddinter(first.parent)
    raw = kb.load_report.counts["raw (before any merging)"]
    assert raw["rows"] == 8 and raw["unique pairs"] == 6 and raw["repeated rows"] == 2
    assert kb.load_report.counts["file b.csv"] == {
        "rows": 1, "major": 1, "moderate": 0, "minor": 0, "unknown": 0
    }  # fmt: skip


def test_conflicting_levels_keep_the_worst_and_are_counted(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1,Acetaminophen,DDInter1951,Warfarin,Moderate\n"
    kb = load_ddinter(write_ddinter(text))
    assert kb.pair_level("warfarin", "acetaminophen") == Risk.MODERATE  # minor and moderate
    assert kb.load_report.get("raw (before any merging)", "pairs with conflicting levels") == 1


def test_merging_by_qualifier_is_reported_apart(write_ddinter: WriteDDInter) -> None:
    kb = load_ddinter(write_ddinter())
    assert kb.resolve("Ketorolac (ophthalmic)") == "ketorolac" == kb.resolve("ketorolac")
    assert kb.pair_level("warfarin", "ketorolac") == Risk.MAJOR  # major and moderate: worst
    merging = kb.load_report.counts["merging records by name (route, salt, formulation qualifiers)"]
    assert merging["records"] == 6 and merging["drugs"] == 5
    assert merging["pairs with conflicting levels (worst kept)"] == 1
    assert kb.load_report.get("raw (before any merging)", "pairs with conflicting levels") == 0
    (reason,) = kb.pair_reasons("warfarin", "ketorolac")
    assert "Warfarin + Ketorolac (ophthalmic): moderate" in reason.detail
    assert "DDInter1951 + DDInter2" in reason.source and "ddinter_test.csv" in reason.source


# --- the Unknown level --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "level"),
    [
        ("none", Risk.NONE),
        ("minor", Risk.MINOR),
        ("moderate", Risk.MODERATE),
        ("major", Risk.MAJOR),
    ],
)
def test_unknown_policy(write_ddinter: WriteDDInter, policy: str, level: Risk) -> None:
    kb = load_ddinter(write_ddinter(), unknown_policy=policy)
    assert kb.pair_level("acetaminophen", "metoprolol") == level
    assert kb.pair_source("acetaminophen", "metoprolol") == ("ddinter",)  # never dropped
    (reason,) = kb.pair_reasons("acetaminophen", "metoprolol")
    assert "Unknown" in reason.detail and f"treated as {policy}" in reason.detail
    assert reason.level == level


def test_unknown_is_moderate_by_default_so_the_system_warns(write_ddinter: WriteDDInter) -> None:
    kb = load_ddinter(write_ddinter())
    assert kb.pair_level("acetaminophen", "metoprolol") == Risk.MODERATE
    assert any("treated as moderate" in note for note in kb.load_report.notes)


def test_known_level_beats_unknown_at_equal_risk(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter4,Metoprolol,DDInter1,Acetaminophen,Moderate\n"
    kb = load_ddinter(write_ddinter(text))
    (reason,) = kb.pair_reasons("acetaminophen", "metoprolol")
    assert reason.detail.startswith("DDInter level Moderate")


def test_unknown_policy_must_be_a_known_word(write_ddinter: WriteDDInter) -> None:
    with pytest.raises(ValueError, match="unknown_policy 'severe'"):
        load_ddinter(write_ddinter(), unknown_policy="severe")


# --- bad files: one test per problem, each names file, line and problem ------------------------


def test_empty_file(write_ddinter: WriteDDInter) -> None:
    assert "line 1: empty file" in _fails(write_ddinter(""))


def test_header_only(write_ddinter: WriteDDInter) -> None:
    assert "no interactions (only a header)" in _fails(write_ddinter(DDINTER_HEADER))


def test_missing_column(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER.replace(",Level\n", "\n", 1)
    message = _fails(write_ddinter(text))
    assert "line 1: missing column(s) level" in message


def test_unknown_level(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1,Acetaminophen,DDInter2,Ketorolac,Severe\n"
    message = _fails(write_ddinter(text))
    assert "line 9: unknown level 'Severe'" in message and "Major, Moderate" in message


def test_row_with_too_few_fields(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1,Acetaminophen,DDInter2\n"
    assert "line 9: too few fields (expected 5, found 3)" in _fails(write_ddinter(text))


def test_row_with_too_many_fields(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1,Acetaminophen,DDInter2,Ketorolac,Minor,extra\n"
    assert "line 9: too many fields (expected 5, found 6)" in _fails(write_ddinter(text))


def test_drug_interacting_with_itself(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1951,Warfarin,DDInter1951,Warfarin,Major\n"
    assert "line 9: drug 'Warfarin' interacts with itself" in _fails(write_ddinter(text))


def test_drug_interacting_with_itself_under_another_id(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1951,Warfarin,DDInter9999,WARFARIN,Major\n"
    assert "line 9: drug 'Warfarin' interacts with itself" in _fails(write_ddinter(text))


def test_file_that_is_not_utf8(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter5,Caf\xe9ine,DDInter1,Acetaminophen,Minor\n"
    message = _fails(write_ddinter(text.encode("latin-1")))
    assert "line 9: not valid UTF-8" in message and "CSV UTF-8" in message


def test_one_id_with_two_names(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1951,Warfrin,DDInter1,Acetaminophen,Minor\n"
    message = _fails(write_ddinter(text))
    assert "line 9: DDInter1951 is named 'Warfrin' here but 'Warfarin'" in message


def test_empty_drug_name(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + "DDInter1951,Warfarin,DDInter7, ,Minor\n"
    assert "line 9: empty Drug_B" in _fails(write_ddinter(text))


def test_broken_quoting(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + 'DDInter1,"Acetaminophen,DDInter2,Ketorolac,Minor\n'
    message = _fails(write_ddinter(text))
    assert "line" in message


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no such file or folder"):
        load_ddinter(tmp_path / "absent.csv")
    with pytest.raises(KnowledgeBaseError, match=r"no \.csv files"):
        load_ddinter(tmp_path)
    with pytest.raises(KnowledgeBaseError, match=r"set kb\.path"):
        load_ddinter(None)


def test_nothing_is_half_loaded(write_ddinter: WriteDDInter) -> None:
    """A bad second file fails the whole load; the good file alone loads unchanged after."""
    good = write_ddinter(name="a.csv")
    write_ddinter(TINY_DDINTER + "DDInter1,Acetaminophen,DDInter2,Ketorolac,Bad\n", "b.csv")
    with pytest.raises(KnowledgeBaseError, match=r"b\.csv, line 9"):
        load_ddinter(good.parent)
    assert load_ddinter(good).load_report.get("raw (before any merging)", "rows") == 7


# --- spreadsheet-export quirks load as the clean file does -------------------------------------


def test_byte_order_mark(write_ddinter: WriteDDInter) -> None:
    quirky = write_ddinter(("\ufeff" + TINY_DDINTER).encode("utf-8"), "bom.csv")
    _same_kb(quirky, write_ddinter())


def test_crlf_line_ends(write_ddinter: WriteDDInter) -> None:
    quirky = write_ddinter(TINY_DDINTER.replace("\n", "\r\n"), "crlf.csv")
    _same_kb(quirky, write_ddinter())


def test_quoted_fields_with_commas(write_ddinter: WriteDDInter) -> None:
    text = TINY_DDINTER + 'DDInter8,"Thyroid, porcine",DDInter1951,Warfarin,Moderate\n'
    kb = load_ddinter(write_ddinter(text))
    assert kb.pair_level("thyroid, porcine", "warfarin") == Risk.MODERATE
    assert kb.pair_level("warfarin", "acetylsalicylic acid") == Risk.MAJOR


def test_every_field_quoted(write_ddinter: WriteDDInter) -> None:
    lines = TINY_DDINTER.splitlines()
    quoted = "\n".join(",".join(f'"{v}"' for v in line.split(",")) for line in lines) + "\n"
    _same_kb(write_ddinter(quoted, "quoted.csv"), write_ddinter())


def test_stray_whitespace(write_ddinter: WriteDDInter) -> None:
    lines = TINY_DDINTER.splitlines()
    spaced = "\n".join(" , ".join(f" {v} " for v in line.split(",")) for line in lines) + "\n"
    _same_kb(write_ddinter(spaced, "spaced.csv"), write_ddinter())


def test_trailing_empty_columns(write_ddinter: WriteDDInter) -> None:
    padded = "".join(line + ",,\n" for line in TINY_DDINTER.splitlines())
    _same_kb(write_ddinter(padded, "padded.csv"), write_ddinter())


def test_blank_and_comment_lines(write_ddinter: WriteDDInter) -> None:
    lines = TINY_DDINTER.splitlines()
    text = "# exported 2024-01-01\n\n" + lines[0] + "\n\n" + "\n# a note\n".join(lines[1:]) + "\n"
    _same_kb(write_ddinter(text, "comments.csv"), write_ddinter())


def test_level_spelling_and_column_order(write_ddinter: WriteDDInter) -> None:
    lines = [line.split(",") for line in TINY_DDINTER.splitlines()]
    reordered = [[f[4].upper() if i else f[4], f[0], f[1], f[2], f[3]] for i, f in enumerate(lines)]
    text = "\n".join(",".join(f) for f in reordered) + "\n"
    _same_kb(write_ddinter(text, "reordered.csv"), write_ddinter())


def test_quirks_keep_line_numbers(write_ddinter: WriteDDInter) -> None:
    """After a quoted field holding a line break, errors still name the right line."""
    text = (
        TINY_DDINTER.replace("\n", "\r\n")
        + '"DDInter8","Thyroid,\r\nporcine","DDInter1951","Warfarin","Moderate"\r\n'
        + "DDInter1,Acetaminophen,DDInter2,Ketorolac,Severe\r\n"
    )
    assert "line 11: unknown level 'Severe'" in _fails(write_ddinter(text))


# --- names ---------------------------------------------------------------------------------------


def test_unknown_name_is_an_error_not_no_interaction(write_ddinter: WriteDDInter) -> None:
    kb = load_ddinter(write_ddinter())
    with pytest.raises(UnknownDrugError, match="unobtainium"):
        kb.pair_level("warfarin", "unobtainium")
    with pytest.raises(UnknownDrugError, match=r"kb\.vocabulary"):
        kb.resolve("aspirin")  # no vocabulary: only DDInter's own names resolve


def test_frequency_prior_sums_to_one(write_ddinter: WriteDDInter) -> None:
    kb = load_ddinter(write_ddinter())
    assert kb.drug_weights.shape == (len(kb.drugs),)
    assert np.isclose(kb.drug_weights.sum(), 1.0) and (kb.drug_weights > 0).all()
    warfarin, metoprolol = kb.drug_id("warfarin"), kb.drug_id("metoprolol")
    assert kb.drug_weights[warfarin] > kb.drug_weights[metoprolol]  # more partners
