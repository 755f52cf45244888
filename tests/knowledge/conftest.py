"""A tiny knowledge-base folder written into tmp_path, to break one file at a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cdss.knowledge import KnowledgeBase, load_curated, load_kb

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
