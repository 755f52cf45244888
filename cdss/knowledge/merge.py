"""The curated rules and DDInter as one knowledge base (`kb=curated_ddinter`).

Drugs: the curated drugs first (their ids unchanged), then DDInter's other drugs. A DDInter
drug whose name (or a DrugBank synonym of it) is a curated name becomes that curated drug.

Classes: a DDInter drug joins a curated class when one of its ATC codes starts with one of
the class's prefixes (`mappings/class_atc.csv`), so the curated class rules reach it.

Who decides a pair:

1. a curated entry about two curated drugs (named, or through their curated classes): the
   curators looked at those drugs, so their level stands, an explicit `none` included;
2. a curated class rule reaching a DDInter-only drug through its ATC class: an extrapolation,
   so it and DDInter combine to the worse of the two;
3. otherwise DDInter's level (its `Unknown` under the unknown policy).

`pair_sources` keeps which source decided each pair; DDInter's level for a pair the
curated entry decided is still shown by `KnowledgeBase.overridden_reasons`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cdss.knowledge.ddinter import (
    CURATED_SHARE,
    DDInterData,
    frequency_prior,
    level_table,
    make_evidence,
    project,
    read_ddinter,
    report_ddinter,
)
from cdss.knowledge.kb import CURATED, DDINTER, KnowledgeBase
from cdss.knowledge.loader import (
    CURATED_DIR,
    _entry_counts,
    build_tables,
    build_vocabulary,
    check_classes,
    content_hash,
    drug_names,
    read_curated,
    report_curated,
    report_tables,
)
from cdss.knowledge.model import DEFAULT_UNKNOWN_POLICY, KnowledgeBaseError, unknown_level
from cdss.knowledge.names import merge_key, normalize, strip_forms
from cdss.knowledge.report import LoadReport
from cdss.knowledge.vocabulary import CLASS_ATC_PATH, Sources, link_atc, link_names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unified:
    """DDInter's merged drugs placed among the curated ones."""

    drugs: list[str]  # curated drugs, then DDInter-only drugs
    curated: int  # how many of `drugs` are curated
    mapping: np.ndarray  # DDInter merged drug -> KB id
    members: list[list[int]]  # KB id -> DDInter records
    joined: dict[int, list[str]]  # curated id -> DDInter names that became it


def _spellings(name: str) -> list[str]:
    """A DDInter name as written, without its qualifier, and without salt or form words."""
    key = merge_key(name)
    return list(
        dict.fromkeys([normalize(name), key, strip_forms(key, salts=False), strip_forms(key)])
    )


def unify(
    data: DDInterData, aliases: dict[str, int], curated: Sequence[str], sources: Sources
) -> Unified:
    """Map each DDInter drug onto a curated drug by name, else DrugBank synonym, else keep it."""
    mapping = np.empty(len(data.drugs), dtype=np.int32)
    drugs = list(curated)
    joined: dict[int, list[str]] = {}
    vocabulary = sources.vocabulary
    for drug, records in enumerate(data.members):
        names = [data.names[record] for record in records]
        found = next(
            (aliases[option] for name in names for option in _spellings(name) if option in aliases),
            None,
        )
        if found is None and vocabulary is not None:
            found_rows = (vocabulary.concept([name, merge_key(name)]) for name in names)
            concepts = {row for row in found_rows if row is not None}
            synonyms = (name for row in sorted(concepts) for name in vocabulary.names[row])
            found = next((aliases[name] for name in synonyms if name in aliases), None)
        if found is None:
            found = len(drugs)
            drugs.append(data.drugs[drug])
        else:
            joined.setdefault(found, []).extend(names)
        mapping[drug] = found
    members: list[list[int]] = [[] for _ in drugs]
    for record, drug in enumerate(mapping[data.mapping].tolist()):
        members[drug].append(record)
    return Unified(drugs, len(curated), mapping, members, joined)


def _combine(
    curated_levels: np.ndarray,
    curated_has: np.ndarray,
    ddinter_levels: np.ndarray,
    ddinter_has: np.ndarray,
    n_curated: int,
    report: LoadReport,
) -> tuple[np.ndarray, np.ndarray]:
    """Final levels and sources of every pair (see the module docstring), with counts."""
    ddinter_only_drug = np.arange(len(curated_levels)) >= n_curated
    extrapolated = curated_has & (ddinter_only_drug[:, None] | ddinter_only_drug[None, :])
    reviewed = curated_has & ~extrapolated
    worse = np.maximum(curated_levels, ddinter_levels)
    levels = np.where(reviewed, curated_levels, np.where(curated_has, worse, ddinter_levels))
    sources = np.where(curated_has, CURATED, 0) | np.where(ddinter_has & ~reviewed, DDINTER, 0)

    upper = np.triu(np.ones_like(curated_has), 1)
    both = reviewed & ddinter_has & upper
    report.add(
        "combining curated and DDInter pairs",
        {
            "curated only": int((curated_has & ~ddinter_has & upper).sum()),
            "ddinter only": int((ddinter_has & ~curated_has & upper).sum()),
            "both, curated decides": int(both.sum()),
            "of which the same level": int((both & (curated_levels == ddinter_levels)).sum()),
            "curated lower": int((both & (curated_levels < ddinter_levels)).sum()),
            "curated higher": int((both & (curated_levels > ddinter_levels)).sum()),
            "class rule via ATC, worse of both": int((extrapolated & ddinter_has & upper).sum()),
            "class rule via ATC alone": int((extrapolated & ~ddinter_has & upper).sum()),
        },
    )
    return levels.astype(np.int8), sources.astype(np.int8)


def load_curated_ddinter(
    path: str | Path | Sequence[str | Path] | None,
    vocabulary: str | Path | None = None,
    atc: str | Path | None = None,
    unknown_policy: str = DEFAULT_UNKNOWN_POLICY,
    name: str = "curated_ddinter",
    curated: str | Path | None = None,
    class_atc: str | Path = CLASS_ATC_PATH,
    curated_share: float = CURATED_SHARE,
) -> KnowledgeBase:
    """The curated folder (default: the shipped one) and DDInter files as one knowledge base."""
    if path is None:
        raise KnowledgeBaseError("no DDInter path: set kb.path to the DDInter file or folder")
    unknown = unknown_level(unknown_policy)
    files = read_curated(curated if curated is not None else CURATED_DIR)
    data = read_ddinter(path, unknown)
    sources = Sources.load(vocabulary, atc, class_atc)
    report = LoadReport(name)
    report_ddinter(data, report)
    vocab = build_vocabulary(files.tables["drugs.csv"], files.tables["classes.csv"])
    report_curated(report, vocab, files)

    # --- drugs: curated first, DDInter's others after
    curated_names = drug_names(vocab)
    unified = unify(data, vocab.aliases, vocab.drugs, sources)
    n, k = len(unified.drugs), unified.curated
    kb_pairs = project(data.merged, unified.mapping, n)
    report.add(
        "placing DDInter drugs among the curated ones",
        {
            "curated drugs found in DDInter": len(unified.joined),
            "curated drugs not in DDInter": k - len(unified.joined),
            "DDInter drugs joined to curated drugs": int((unified.mapping < k).sum()),
            "DDInter-only drugs": n - k,
            "pairs with conflicting levels (worst kept)": kb_pairs.conflicts,
            "self pairs dropped": kb_pairs.self_pairs,
        },
    )
    report.missing(
        "curated drugs (not in DDInter)",
        (unified.drugs[i] for i in range(k) if i not in unified.joined),
    )

    # --- names and ATC codes of every drug
    records = [[data.names[r] for r in members] for members in unified.members]
    strong = [*curated_names, *([drug] for drug in unified.drugs[k:])]
    groups = [[names] for names in curated_names] + [[] for _ in range(n - k)]
    for drug, names in enumerate(records):
        groups[drug].extend([name, merge_key(name)] for name in names)
    aliases, drugbank_names = link_names(strong, records, groups, sources.vocabulary, report)
    own = [[*names, *found] for names, found in zip(strong, records, strict=True)]
    codes = link_atc(own, drugbank_names, sources.atc, report)

    # --- curated classes reach DDInter drugs through their ATC codes
    vocab.drugs = list(unified.drugs)
    if sources.atc is not None:
        check_classes(vocab.classes, codes, sources.class_atc, unified.drugs[:k], report)
        added: dict[str, int] = {}
        for drug in range(k, n):
            for drug_class in sources.class_atc.classes_of(codes[drug]):
                if drug_class in vocab.classes:
                    vocab.classes[drug_class].append(drug)
                    added[drug_class] = added.get(drug_class, 0) + 1
        report.add("DDInter drugs added to curated classes", added)
    built = build_tables(vocab, files.tables)

    # --- who decides each pair
    labels = data.label[kb_pairs.ranks]
    curated_has = np.zeros((n, n), dtype=bool)
    for i, j in built.pair_reasons:
        curated_has[i, j] = True
    levels, pair_sources = _combine(
        built.pair_levels, curated_has, level_table(unknown)[labels], labels > 0, k, report
    )
    partners = np.count_nonzero(levels, axis=1)
    parts = [*files.blobs, *data.blobs, *sources.hash_parts()]
    parts.append(("unknown_policy", unknown.name.encode()))
    kb = KnowledgeBase(
        name=name,
        drugs=tuple(unified.drugs),
        aliases=aliases,
        classes={c: tuple(unified.drugs[i] for i in m) for c, m in vocab.classes.items()},
        pair_levels=levels,
        pair_reasons=built.pair_reasons,
        condition_levels=built.condition_levels,
        condition_reasons=built.condition_reasons,
        lab_rules=built.lab_rules,
        content_hash=content_hash(parts),
        entry_counts=_entry_counts(files.tables),
        pair_sources=pair_sources,
        evidence=make_evidence(data, labels, unified.members),
        drug_weights=frequency_prior(partners, curated=k, curated_share=curated_share),
        atc_codes=codes,
        load_report=report,
        unknown_hint=sources.unknown_hint(),
    )
    report_tables(report, built, levels, pair_sources)
    report.add("knowledge base", {"drugs": n, "curated drugs": k, "pairs": _judged(pair_sources)})
    report.content_hash = kb.content_hash
    log.info(
        "loaded knowledge base %r: %d curated + %d DDInter drugs, hash %s",
        name, k, n - k, kb.content_hash[:12],
    )  # fmt: skip
    return kb


def _judged(pair_sources: np.ndarray) -> int:
    return int(np.count_nonzero(pair_sources)) // 2
