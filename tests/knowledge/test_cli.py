"""`python -m cdss.knowledge lookup|check`."""

from __future__ import annotations

import subprocess
import sys

from cdss.knowledge import CURATED_DIR
from cdss.knowledge.__main__ import main


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
