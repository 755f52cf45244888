"""`python -m cdss.knowledge lookup|check` on curated folders, DDInter files and both."""

from __future__ import annotations

import subprocess
import sys

from cdss.knowledge import CURATED_DIR
from cdss.knowledge.__main__ import main
from tests.knowledge.conftest import ATC, DDINTER, TINY_DDINTER, VOCABULARY, shared_data


def test_lookup_prints_level_reasons_and_sources(capsys):
    assert main(["lookup", "warfarin", "fluconazole", "paracetamol (acetaminophen)"]) == 0
    out = capsys.readouterr().out
    assert "warfarin + fluconazole: major" in out
    assert "source: FDA label warfarin" in out
    assert "warfarin + paracetamol: minor" in out
    assert "fluconazole + paracetamol: none" in out


def test_lookup_unknown_drug_fails(capsys):
    assert main(["lookup", "warfarin", "unobtainium"]) == 2
    assert "unknown drug 'unobtainium'" in capsys.readouterr().err


def test_check_reports_counts(capsys):
    assert main(["check", str(CURATED_DIR)]) == 0
    out = capsys.readouterr().out
    assert "OK, hash" in out and "drugs" in out and "contraindicated" in out


def test_check_bad_folder_exits_1(write_kb, capsys):
    folder = write_kb(interactions_csv="drug_a,drug_b,level,detail,source\nwarfarin,x\n")
    assert main(["check", str(CURATED_DIR), str(folder)]) == 1
    captured = capsys.readouterr()
    assert "interactions.csv, line 2: too few fields" in captured.err
    assert "OK, hash" in captured.out


def test_module_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, "-m", "cdss.knowledge", "lookup", "warfarin", "fluconazole"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "warfarin + fluconazole: major" in done.stdout


# --- DDInter files, the vocabulary, the ATC index ------------------------------------------------


def test_check_ddinter_file_prints_raw_counts(write_ddinter, capsys):
    assert main(["check", str(write_ddinter())]) == 0
    out = capsys.readouterr().out
    assert "ddinter_test.csv: rows 7" in out
    assert "unique pairs 6" in out and "drug records 6" in out
    assert "no DrugBank vocabulary" in out  # the report says how names resolve


def test_check_bad_ddinter_file_exits_1(write_ddinter, capsys):
    bad = write_ddinter(TINY_DDINTER + "DDInter1,Acetaminophen,DDInter2,Ketorolac,Severe\n")
    assert main(["check", str(bad)]) == 1
    assert "ddinter_test.csv, line 9: unknown level 'Severe'" in capsys.readouterr().err


def test_check_merge_of_curated_and_ddinter(write_ddinter, capsys):
    assert main(["check", "--merge", str(CURATED_DIR), str(write_ddinter())]) == 0
    out = capsys.readouterr().out
    assert "placing DDInter drugs among the curated ones" in out
    assert "combining curated and DDInter pairs" in out


def test_check_all_eight_files_with_vocabulary_and_atc(capsys):
    shared_data()
    args = ["check", str(DDINTER), "--vocabulary", str(VOCABULARY), "--atc", str(ATC)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "unique pairs 160,235" in out and "drug records 1,939" in out
    assert "unresolved ATC codes" in out


def test_lookup_on_ddinter_with_vocabulary(write_ddinter, capsys, tmp_path):
    vocabulary = tmp_path / "vocab.csv"
    vocabulary.write_text(
        "DrugBank ID,Common name,Synonyms\nDB00945,Acetylsalicylic acid,Aspirin | ASA\n",
        encoding="utf-8",
    )
    args = ["lookup", "--kb", str(write_ddinter()), "--vocabulary", str(vocabulary)]
    assert main([*args, "warfarin", "Aspirin"]) == 0
    out = capsys.readouterr().out
    assert "warfarin + acetylsalicylic acid: major" in out
    assert "decided by: ddinter" in out and "source: DDInter" in out


def test_lookup_merged_shows_the_overridden_ddinter_level(write_ddinter, capsys):
    args = ["lookup", "--kb", "curated", "--kb", str(write_ddinter()), "warfarin", "aspirin"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "warfarin + aspirin: major" in out and "decided by: curated" in out
    assert "not used, the curated entry decides" in out


def test_lookup_unknown_policy_option(write_ddinter, capsys):
    path = str(write_ddinter())
    assert (
        main(["lookup", "--kb", path, "--unknown-policy", "major", "acetaminophen", "metoprolol"])
        == 0
    )
    assert "acetaminophen + metoprolol: major" in capsys.readouterr().out
