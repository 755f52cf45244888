"""Tiny knowledge-base files written into tmp_path to break one at a time; the real data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cdss.knowledge import (
    KnowledgeBase,
    load_curated,
    load_curated_ddinter,
    load_ddinter,
    load_kb,
)

TINY_KB: dict[str, str] = {
    "drugs.csv": (
        "name,classes,synonyms,source\n"
        "warfarin,anticoagulant,coumadin,WHO ATC B01AA03\n"
        "ibuprofen,nsaid,advil;motrin,WHO ATC M01AE01\n"
        "naproxen,nsaid,,WHO ATC M01AE02\n"
        "metformin,,glucophage,WHO ATC A10BA02\n"
        "lisinopril,,zestril,WHO ATC C09AA03\n"
        "paracetamol,,acetaminophen,WHO ATC N02BE01\n"
    ),
    "classes.csv": (
        "class,description,duplicate_level,source\n"
        "anticoagulant,anticoagulants,major,test source\n"
        "nsaid,NSAIDs,moderate,test source\n"
    ),
    "interactions.csv": (
        "drug_a,drug_b,level,detail,source\n"
        "warfarin,class:nsaid,major,bleeding,class source\n"
        "warfarin,naproxen,moderate,named pair,named source\n"
        "warfarin,paracetamol,minor,INR with regular use,low-priority list\n"
        "lisinopril,metformin,none,judged irrelevant,judgement source\n"
    ),
    "drug_conditions.csv": (
        "drug,condition,level,detail,source\n"
        "class:nsaid,ckd,moderate,renal,class source\n"
        "ibuprofen,ckd,major,named rule,named source\n"
        "lisinopril,pregnancy,contraindicated,fetal toxicity,label\n"
    ),
    "drug_labs.csv": (
        "drug,lab,op,threshold,level,detail,source\n"
        "metformin,egfr,<,30,contraindicated,lactic acidosis,label 4\n"
        "metformin,egfr,<,45,moderate,do not start,label 2\n"
        "class:nsaid,egfr,<,30,major,renal,label 5\n"
    ),
}

WriteKB = Callable[..., Path]


@pytest.fixture
def write_kb(tmp_path: Path) -> WriteKB:
    """Write the tiny KB, with some files replaced (str) or given as raw bytes."""

    def write(**files: str | bytes) -> Path:
        folder = tmp_path / "kb"
        folder.mkdir(exist_ok=True)
        contents: dict[str, str | bytes] = {**TINY_KB}
        contents.update({name.replace("_csv", ".csv"): text for name, text in files.items()})
        for name, text in contents.items():
            path = folder / name
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8", newline="")
        return folder

    return write


@pytest.fixture
def tiny_kb(write_kb: WriteKB) -> KnowledgeBase:
    return load_kb(write_kb(), name="tiny")


@pytest.fixture(scope="session")
def curated() -> KnowledgeBase:
    return load_curated()


# --- the shared data beside the checkout (../shared/data), read by the DDInter tests -----------

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DDINTER = DATA / "ddinter"
VOCABULARY = DATA / "drugbank_vocabulary" / "drugbank_vocabulary.csv"
ATC = DATA / "who_atc" / "WHO_ATC-DDD_2026-04-25.csv"


def shared_data() -> Path:
    """The shared data folder, or a test failure saying where it was looked for."""
    missing = [str(p) for p in (DDINTER, VOCABULARY, ATC) if not p.exists()]
    if missing:
        pytest.fail(
            f"shared data missing: {', '.join(missing)}; the tests read DDInter, the DrugBank "
            "vocabulary and the ATC index from ../shared/data beside the checkout"
        )
    return DATA


@pytest.fixture(scope="session")
def ddinter_kb() -> KnowledgeBase:
    """All eight DDInter files with the vocabulary and ATC index, loaded once per test run."""
    shared_data()
    return load_ddinter(DDINTER, vocabulary=VOCABULARY, atc=ATC)


@pytest.fixture(scope="session")
def merged_kb() -> KnowledgeBase:
    """kb=curated_ddinter on the real files, loaded once per test run."""
    shared_data()
    return load_curated_ddinter(DDINTER, vocabulary=VOCABULARY, atc=ATC)


DDINTER_HEADER = "DDInterID_A,Drug_A,DDInterID_B,Drug_B,Level\n"
TINY_DDINTER = DDINTER_HEADER + (
    "DDInter1951,Warfarin,DDInter20,Acetylsalicylic acid,Major\n"
    "DDInter20,Acetylsalicylic acid,DDInter1951,Warfarin,Major\n"
    "DDInter1951,Warfarin,DDInter1,Acetaminophen,Minor\n"
    "DDInter1951,Warfarin,DDInter2,Ketorolac,Major\n"
    "DDInter1951,Warfarin,DDInter3,Ketorolac (ophthalmic),Moderate\n"
    "DDInter20,Acetylsalicylic acid,DDInter3,Ketorolac (ophthalmic),Unknown\n"
    "DDInter1,Acetaminophen,DDInter4,Metoprolol,Unknown\n"
)

WriteDDInter = Callable[..., Path]


@pytest.fixture
def write_ddinter(tmp_path: Path) -> WriteDDInter:
    """Write one DDInter-style file (text or raw bytes) into tmp_path and return its path."""

    def write(content: str | bytes = TINY_DDINTER, name: str = "ddinter_test.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write
