"""Read and validate a knowledge-base folder of CSV files, then build the tables.

Layout of a folder (one header line, then one entry per line; `#` lines are comments):

- `drugs.csv`: name, classes (`;`-separated), synonyms (`;`-separated), source
- `classes.csv`: class, description, duplicate_level, source
- `interactions.csv`: drug_a, drug_b, level, detail, source (a side may be `class:<name>`)
- `drug_conditions.csv`: drug, condition, level, detail, source
- `drug_labs.csv`: drug, lab, op, threshold, level, detail, source

An entry naming two drugs (or a drug and a condition) is a judgement of that pair as a whole and
overrides every class-derived entry for it, so a pair judged `none` on purpose stays `none`;
class-derived entries for the same pair (different mechanisms) combine to the worst.
Every file is validated in full before anything is built, so a bad file never half-loads.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.model import (
    CONDITION_INDEX,
    CONDITIONS,
    DEFAULT_UNKNOWN_POLICY,
    LABS,
    KnowledgeBaseError,
    LabRule,
    Reason,
    Risk,
    unknown_level,
)
from cdss.knowledge.names import normalize
from cdss.knowledge.report import LoadReport
from cdss.knowledge.tables import read_text
from cdss.knowledge.tables import rows as table_rows
from cdss.knowledge.vocabulary import CLASS_ATC_PATH, ClassAtc, Sources, link_atc, link_names

log = logging.getLogger(__name__)

CURATED_DIR = Path(__file__).resolve().parent / "data"

# File name -> required columns; the order is also the order of the content hash.
SCHEMA: dict[str, tuple[str, ...]] = {
    "drugs.csv": ("name", "classes", "synonyms", "source"),
    "classes.csv": ("class", "description", "duplicate_level", "source"),
    "interactions.csv": ("drug_a", "drug_b", "level", "detail", "source"),
    "drug_conditions.csv": ("drug", "condition", "level", "detail", "source"),
    "drug_labs.csv": ("drug", "lab", "op", "threshold", "level", "detail", "source"),
}
CLASS_PREFIX = "class:"
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Row:
    """One entry of a CSV file, with where it came from for error messages."""

    file: str
    line: int
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values[column]

    def fail(self, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"{self.file}, line {self.line}: {problem}")


@dataclass(frozen=True)
class Endpoint:
    """A side of a rule: one drug, or every member of a class."""

    token: str  # canonical drug name or "class:<name>"
    ids: tuple[int, ...]
    is_class: bool


# --- reading -----------------------------------------------------------------------------


def read_table(path: Path, required: tuple[str, ...]) -> tuple[bytes, list[Row]]:
    """Raw bytes (for the hash) and the validated rows of one CSV file."""
    data, text = read_text(path)
    columns, body = table_rows(path, text, required)
    named = [(name, position) for name, position in columns.items()]
    rows = [
        Row(str(path), line, {name: fields[position] for name, position in named})
        for line, fields in body
    ]
    return data, rows


def content_hash(blobs: list[tuple[str, bytes]]) -> str:
    """sha256 over the files' bytes in SCHEMA order; names separate the files."""
    digest = hashlib.sha256()
    for name, data in blobs:
        digest.update(name.encode() + b"\n")
        digest.update(data)
    return digest.hexdigest()


def _level(row: Row, column: str = "level") -> Risk:
    try:
        return Risk.parse(row[column])
    except KeyError:
        known = ", ".join(level.name.lower() for level in Risk)
        raise row.fail(f"unknown level {row[column]!r} (expected one of {known})") from None


def _require(row: Row, *columns: str) -> None:
    for column in columns:
        if not row[column]:
            raise row.fail(f"empty {column}")


def identifier(text: str) -> str:
    """Class, condition and lab names are identifiers ("qt_known_risk"): only case is unified."""
    return text.strip().lower()


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


# --- vocabulary: drugs and classes ---------------------------------------------------------


@dataclass
class Vocabulary:
    """Drugs, their aliases and classes, read first so rules can be checked against them."""

    drugs: list[str]
    aliases: dict[str, int]
    classes: dict[str, list[int]]
    class_rows: dict[str, Row]

    def endpoint(self, row: Row, column: str) -> Endpoint:
        text = row[column]
        if identifier(text).startswith(CLASS_PREFIX):
            name = identifier(text.strip()[len(CLASS_PREFIX) :])
            if name not in self.classes:
                raise row.fail(f"{column} names unknown class {name!r}")
            return Endpoint(CLASS_PREFIX + name, tuple(self.classes[name]), True)
        found = self.aliases.get(normalize(text))
        if found is None:
            raise row.fail(f"{column} names unknown drug {text!r}")
        return Endpoint(self.drugs[found], (found,), False)


def build_vocabulary(drug_rows: list[Row], class_rows: list[Row]) -> Vocabulary:
    """Canonical drug list, alias index and class membership, with collisions refused."""
    classes: dict[str, list[int]] = {}
    by_class: dict[str, Row] = {}
    for row in class_rows:
        _require(row, "class", "source")
        name = identifier(row["class"])
        if name in by_class:
            raise row.fail(f"class {name!r} listed twice (first on line {by_class[name].line})")
        _level(row, "duplicate_level")
        classes[name] = []
        by_class[name] = row

    drugs: list[str] = []
    aliases: dict[str, int] = {}
    for row in drug_rows:
        _require(row, "name", "source")
        drug_id = len(drugs)
        name = normalize(row["name"])
        for alias in [name, *(normalize(s) for s in _split_list(row["synonyms"]))]:
            owner = aliases.get(alias)
            if owner is not None and owner != drug_id:
                raise row.fail(f"name {alias!r} already belongs to drug {drugs[owner]!r}")
            aliases[alias] = drug_id
        drug_classes = [identifier(c) for c in _split_list(row["classes"])]
        for drug_class in drug_classes:
            if drug_class not in classes:
                raise row.fail(f"drug {name!r} names unknown class {drug_class!r}")
            if drug_classes.count(drug_class) > 1:
                # Listed twice, the drug would meet itself as duplicate therapy.
                raise row.fail(f"drug {name!r} lists class {drug_class!r} twice")
            classes[drug_class].append(drug_id)
        drugs.append(name)
    for name, members in classes.items():
        if not members:
            log.warning("class %r has no member drugs", name)
    return Vocabulary(drugs, aliases, classes, by_class)


# --- rules -----------------------------------------------------------------------------------


@dataclass
class Ranked:
    """The entries currently deciding one table cell: their specificity and reasons."""

    specificity: int
    level: Risk
    entries: list[tuple[Risk, str, str, str]]  # level, kind, detail, source


def _offer(cells: dict, key: tuple, specificity: int, entry: tuple[Risk, str, str, str]) -> None:
    """Keep the named (specificity 0) entries of a cell over class-derived ones; equals combine."""
    current = cells.get(key)
    if current is None or specificity < current.specificity:
        cells[key] = Ranked(specificity, entry[0], [entry])
    elif specificity == current.specificity and entry not in current.entries:
        current.level = max(current.level, entry[0])
        current.entries.append(entry)


def _check_repeat(seen: dict, key: tuple, row: Row, level: Risk, what: str) -> bool:
    """Refuse a literal repeat with another level; skip (True) an identical repeat."""
    first = seen.get(key)
    if first is None:
        seen[key] = (row, level)
        return False
    first_row, first_level = first
    if first_level != level:
        raise row.fail(
            f"{what} listed twice with different levels ({level.name.lower()} here, "
            f"{first_level.name.lower()} on line {first_row.line})"
        )
    log.warning("%s, line %d: %s repeats line %d", row.file, row.line, what, first_row.line)
    return True


def build_pairs(vocab: Vocabulary, rows: list[Row]) -> dict[tuple[int, int], Ranked]:
    """Expand interaction entries to drug pairs (i < j), most specific entry first."""
    cells: dict[tuple[int, int], Ranked] = {}
    seen: dict[tuple, tuple[Row, Risk]] = {}
    for row in rows:
        _require(row, "drug_a", "drug_b", "source")
        first, second = vocab.endpoint(row, "drug_a"), vocab.endpoint(row, "drug_b")
        level = _level(row)
        if first.token == second.token and not first.is_class:
            raise row.fail(f"drug {first.token!r} interacts with itself")
        what = f"pair {first.token} + {second.token}"
        if _check_repeat(seen, tuple(sorted((first.token, second.token))), row, level, what):
            continue
        specificity = int(first.is_class or second.is_class)
        entry = (level, "interaction", row["detail"], row["source"])
        for i in first.ids:
            for j in second.ids:
                if i != j:
                    _offer(cells, (min(i, j), max(i, j)), specificity, entry)
    return cells


def build_conditions(vocab: Vocabulary, rows: list[Row]) -> dict[tuple[int, int], Ranked]:
    """Expand drug-condition entries to (drug id, condition index) cells."""
    cells: dict[tuple[int, int], Ranked] = {}
    seen: dict[tuple, tuple[Row, Risk]] = {}
    for row in rows:
        _require(row, "drug", "condition", "source")
        side = vocab.endpoint(row, "drug")
        condition = identifier(row["condition"])
        if condition not in CONDITION_INDEX:
            raise row.fail(
                f"unknown condition {condition!r} (expected one of {', '.join(CONDITIONS)})"
            )
        level = _level(row)
        if _check_repeat(seen, (side.token, condition), row, level, f"{side.token} + {condition}"):
            continue
        entry = (level, "condition", row["detail"], row["source"])
        for i in side.ids:
            _offer(cells, (i, CONDITION_INDEX[condition]), int(side.is_class), entry)
    return cells


def build_lab_rules(vocab: Vocabulary, rows: list[Row]) -> list[list[LabRule]]:
    """Per-drug lab rules; thresholds of a drug and of its classes all apply."""
    rules: list[list[LabRule]] = [[] for _ in vocab.drugs]
    seen: dict[tuple, tuple[Row, Risk]] = {}
    for row in rows:
        _require(row, "drug", "lab", "op", "threshold", "source")
        side = vocab.endpoint(row, "drug")
        lab = identifier(row["lab"])
        if lab not in LABS:
            raise row.fail(f"unknown lab {lab!r} (expected one of {', '.join(LABS)})")
        if row["op"] not in ("<", ">"):
            raise row.fail(f"unknown op {row['op']!r} (expected < or >)")
        try:
            threshold = float(row["threshold"])
        except ValueError:
            raise row.fail(f"threshold {row['threshold']!r} is not a number") from None
        if not math.isfinite(threshold):
            raise row.fail(f"threshold {row['threshold']!r} is not finite")
        level = _level(row)
        what = f"{side.token} + {lab} {row['op']} {threshold:g}"
        if _check_repeat(seen, (side.token, lab, row["op"], threshold), row, level, what):
            continue
        rule = LabRule(lab, row["op"], threshold, level, row["detail"], row["source"])
        for i in side.ids:
            if rule not in rules[i]:
                rules[i].append(rule)
    return rules


def add_duplicates(vocab: Vocabulary) -> dict[tuple[int, int], list[tuple[Risk, str, str, str]]]:
    """Duplicate-therapy entries for each pair of members of a flagged class."""
    found: dict[tuple[int, int], list[tuple[Risk, str, str, str]]] = {}
    for name, members in vocab.classes.items():
        row = vocab.class_rows[name]
        level = Risk.parse(row["duplicate_level"])
        if level == Risk.NONE:
            continue
        detail = f"duplicate therapy: two {row['description'] or name}"
        for a, i in enumerate(members):
            for j in members[a + 1 :]:
                key = (min(i, j), max(i, j))
                found.setdefault(key, []).append((level, "duplicate", detail, row["source"]))
    return found


# --- assembly ------------------------------------------------------------------------------


def _pair_tables(
    vocab: Vocabulary,
    interactions: dict[tuple[int, int], Ranked],
    duplicates: dict[tuple[int, int], list[tuple[Risk, str, str, str]]],
) -> tuple[np.ndarray, dict[tuple[int, int], tuple[Reason, ...]]]:
    n = len(vocab.drugs)
    levels = np.zeros((n, n), dtype=np.int8)
    reasons: dict[tuple[int, int], tuple[Reason, ...]] = {}
    for key in set(interactions) | set(duplicates):
        ranked = interactions.get(key)
        entries = (ranked.entries if ranked else []) + duplicates.get(key, [])
        level = max(entry[0] for entry in entries)
        i, j = key
        levels[i, j] = levels[j, i] = level
        for me, partner in ((i, j), (j, i)):
            reasons[(me, partner)] = tuple(
                Reason(kind, lvl, vocab.drugs[partner], detail, source)
                for lvl, kind, detail, source in sorted(entries, key=lambda e: -e[0])
            )
    return levels, reasons


def _condition_tables(
    vocab: Vocabulary, cells: dict[tuple[int, int], Ranked]
) -> tuple[np.ndarray, dict[tuple[int, int], tuple[Reason, ...]]]:
    levels = np.zeros((len(vocab.drugs), len(CONDITIONS)), dtype=np.int8)
    reasons: dict[tuple[int, int], tuple[Reason, ...]] = {}
    for (i, c), ranked in cells.items():
        levels[i, c] = ranked.level
        reasons[(i, c)] = tuple(
            Reason(kind, lvl, CONDITIONS[c], detail, source)
            for lvl, kind, detail, source in sorted(ranked.entries, key=lambda e: -e[0])
        )
    return levels, reasons


def _entry_counts(tables: dict[str, list[Row]]) -> dict[str, int]:
    """Entries per file, and interaction entries per level, for load reports."""
    counts = {file_name: len(rows) for file_name, rows in tables.items()}
    for level in Risk:
        name = level.name.lower()
        counts[f"interactions.{name}"] = sum(
            Risk.parse(row["level"]) == level for row in tables["interactions.csv"]
        )
    return counts


@dataclass(frozen=True)
class CuratedFiles:
    """The validated rows of a curated folder, and its bytes for the content hash."""

    folder: Path
    blobs: tuple[tuple[str, bytes], ...]
    tables: dict[str, list[Row]]


def read_curated(path: str | Path) -> CuratedFiles:
    """Read and validate every file of a curated folder (nothing is built yet)."""
    folder = Path(path)
    if not folder.is_dir():
        raise KnowledgeBaseError(f"{folder}: not a folder")
    blobs: list[tuple[str, bytes]] = []
    tables: dict[str, list[Row]] = {}
    for file_name, required in SCHEMA.items():
        data, rows = read_table(folder / file_name, required)
        blobs.append((file_name, data))
        tables[file_name] = rows
    if not tables["drugs.csv"]:
        raise KnowledgeBaseError(f"{folder / 'drugs.csv'}: no drugs (only a header)")
    return CuratedFiles(folder, tuple(blobs), tables)


@dataclass(frozen=True)
class CuratedTables:
    """The curated rules expanded over a vocabulary's drugs (which may hold more drugs)."""

    interactions: dict[tuple[int, int], Ranked]
    duplicates: dict[tuple[int, int], list[tuple[Risk, str, str, str]]]
    pair_levels: np.ndarray
    pair_reasons: dict[tuple[int, int], tuple[Reason, ...]]
    condition_levels: np.ndarray
    condition_reasons: dict[tuple[int, int], tuple[Reason, ...]]
    lab_rules: tuple[tuple[LabRule, ...], ...]


def build_tables(vocab: Vocabulary, tables: dict[str, list[Row]]) -> CuratedTables:
    """Expand every rule file over the vocabulary's drugs and classes."""
    interactions = build_pairs(vocab, tables["interactions.csv"])
    duplicates = add_duplicates(vocab)
    condition_cells = build_conditions(vocab, tables["drug_conditions.csv"])
    lab_rules = build_lab_rules(vocab, tables["drug_labs.csv"])
    pair_levels, pair_reasons = _pair_tables(vocab, interactions, duplicates)
    condition_levels, condition_reasons = _condition_tables(vocab, condition_cells)
    return CuratedTables(
        interactions=interactions,
        duplicates=duplicates,
        pair_levels=pair_levels,
        pair_reasons=pair_reasons,
        condition_levels=condition_levels,
        condition_reasons=condition_reasons,
        lab_rules=tuple(tuple(rules) for rules in lab_rules),
    )


def report_curated(report: LoadReport, vocab: Vocabulary, files: CuratedFiles) -> None:
    """Entries per file and level, and judged pairs per level after class expansion."""
    counts = _entry_counts(files.tables)
    levels = [level.name.lower() for level in Risk]
    report.add("curated", {"drugs": len(vocab.drugs), "classes": len(vocab.classes)})
    report.add(
        "interaction entries",
        {"entries": counts["interactions.csv"], **{n: counts[f"interactions.{n}"] for n in levels}},
    )
    report.add(
        "rule entries",
        {
            "drug-condition entries": counts["drug_conditions.csv"],
            "drug-lab entries": counts["drug_labs.csv"],
        },
    )


def report_tables(
    report: LoadReport, built: CuratedTables, levels: np.ndarray, pair_sources: np.ndarray
) -> None:
    """Judged pairs per level (class rules expanded) and the rule cells, as agents see them."""
    rows, cols = np.nonzero(np.triu(pair_sources != 0, 1))
    found = np.bincount(levels[rows, cols], minlength=len(Risk))
    pairs = {level.name.lower(): int(found[level]) for level in Risk}
    report.add("drug pairs after class expansion", pairs)
    report.add(
        "rules after class expansion",
        {
            "drug-condition cells": len(built.condition_reasons),
            "drug-lab rules": sum(len(rules) for rules in built.lab_rules),
        },
    )


def drug_names(vocab: Vocabulary) -> list[list[str]]:
    """Per curated drug: its canonical name, then its synonyms."""
    names: list[list[str]] = [[drug] for drug in vocab.drugs]
    for alias, drug in vocab.aliases.items():
        if alias != vocab.drugs[drug]:
            names[drug].append(alias)
    return names


def check_classes(
    classes: dict[str, list[int]],
    codes: tuple[tuple[str, ...], ...],
    class_atc: ClassAtc,
    drugs: list[str],
    report: LoadReport,
) -> None:
    """Note curated class memberships that disagree with the class-to-ATC table."""
    disagree: list[str] = []
    for drug_class, prefixes in class_atc.prefixes.items():
        members = set(classes.get(drug_class, ()))
        for drug, found in enumerate(codes[: len(drugs)]):
            matches = any(code.startswith(p) for code in found for p in prefixes)
            if found and drug in members and not matches:
                disagree.append(f"{drugs[drug]} is in {drug_class} but has ATC {', '.join(found)}")
            elif matches and drug not in members and drug_class in classes:
                disagree.append(f"{drugs[drug]} has an ATC code of {drug_class} but is not in it")
    report.add("curated classes against ATC", {"disagreements": len(disagree)})
    report.missing("class memberships (curated and ATC disagree)", disagree)


def load_kb(
    path: str | Path | None = None,
    name: str | None = None,
    vocabulary: str | Path | None = None,
    atc: str | Path | None = None,
    unknown_policy: str = DEFAULT_UNKNOWN_POLICY,
    class_atc: str | Path = CLASS_ATC_PATH,
) -> KnowledgeBase:
    """Load and validate a folder of the CSV layout above; raises KnowledgeBaseError.

    No path means the curated files shipped in the package (`kb=curated`, `kb.path=null`).
    With `vocabulary`, DrugBank's names of each drug resolve too; with `atc`, drugs get
    their ATC codes and curated classes are checked against them. `unknown_policy` only
    matters for DDInter (`kb=ddinter`, `kb=curated_ddinter`); it is checked here all the same.
    """
    unknown_level(unknown_policy)
    if path is None:
        path, name = CURATED_DIR, name or "curated"
    files = read_curated(path)
    vocab = build_vocabulary(files.tables["drugs.csv"], files.tables["classes.csv"])
    built = build_tables(vocab, files.tables)
    sources = Sources.load(vocabulary, atc, class_atc)
    report = LoadReport(name or files.folder.name)
    report_curated(report, vocab, files)

    aliases: dict[str, int] = vocab.aliases
    codes: tuple[tuple[str, ...], ...] | None = None
    if vocabulary is not None or atc is not None:
        names = drug_names(vocab)
        aliases, drugbank_names = link_names(
            names, [[] for _ in names], [[group] for group in names], sources.vocabulary, report
        )
        codes = link_atc(names, drugbank_names, sources.atc, report)
        if sources.atc is not None:
            check_classes(vocab.classes, codes, sources.class_atc, vocab.drugs, report)

    kb = KnowledgeBase(
        name=report.name,
        drugs=tuple(vocab.drugs),
        aliases=aliases,
        classes={c: tuple(vocab.drugs[i] for i in m) for c, m in vocab.classes.items()},
        pair_levels=built.pair_levels,
        pair_reasons=built.pair_reasons,
        condition_levels=built.condition_levels,
        condition_reasons=built.condition_reasons,
        lab_rules=built.lab_rules,
        content_hash=content_hash([*files.blobs, *sources.hash_parts()]),
        entry_counts=_entry_counts(files.tables),
        atc_codes=codes,
        load_report=report,
    )
    report_tables(report, built, kb.pair_levels, kb.pair_sources)
    report.content_hash = kb.content_hash
    log.info(
        "loaded knowledge base %r from %s: %d drugs, %d classes, hash %s",
        kb.name,
        files.folder,
        len(kb.drugs),
        len(kb.classes),
        kb.content_hash[:12],
    )
    return kb


@functools.lru_cache(maxsize=1)
def load_curated() -> KnowledgeBase:
    """The knowledge base shipped in the package (loaded once per process)."""
    return load_kb(CURATED_DIR, name="curated")
