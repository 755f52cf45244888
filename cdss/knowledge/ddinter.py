"""DDInter's interaction downloads as a knowledge base: read, check, deduplicate, merge.

DDInter (Xiong et al., Nucleic Acids Res 2022) publishes one CSV per ATC group with the header
`DDInterID_A,Drug_A,DDInterID_B,Drug_B,Level`. A pair appears in both orders and in the file
of each group either drug belongs to, so rows are deduplicated; a pair listed with different
levels keeps the worst and counts as a conflict. `Unknown` is a level of its own that an
explicit policy turns into a risk (default moderate, so the system warns); it is never dropped.

Records whose names differ only by a route, salt or formulation qualifier ("Diclofenac
(topical)") are then merged into one drug: merged pairs keep the worst level, and the load
report counts what merging did apart from what the files say.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cdss.knowledge.kb import DDINTER, KnowledgeBase
from cdss.knowledge.model import CONDITIONS, KnowledgeBaseError, Reason, Risk
from cdss.knowledge.names import merge_key, normalize
from cdss.knowledge.report import LoadReport
from cdss.knowledge.tables import fit_row, parse_header, read_text, reader
from cdss.knowledge.vocabulary import (
    CLASS_ATC_PATH,
    AtcIndex,
    ClassAtc,
    DrugVocabulary,
    link_atc,
    link_names,
    load_atc,
    load_class_atc,
    load_vocabulary,
)

log = logging.getLogger(__name__)

DDINTER_COLUMNS = ("ddinterid_a", "drug_a", "ddinterid_b", "drug_b", "level")
DDINTER_SOURCE = "DDInter (Xiong et al., Nucleic Acids Res 2022;50:D1200; CC BY-NC-SA 4.0)"

# Label codes of DDInter's levels in the label tables; 0 means no entry.
LABELS = ("none", "minor", "moderate", "major", "unknown")
UNKNOWN = 4
_LABEL_CODES = {"minor": 1, "moderate": 2, "major": 3, "unknown": 4}
_FAST_CODES = {
    spelling: code
    for label, code in _LABEL_CODES.items()
    for spelling in (label, label.capitalize(), label.upper())
}
UNKNOWN_POLICIES = ("none", "minor", "moderate", "major")
DEFAULT_UNKNOWN_POLICY = "moderate"
MAX_FILES = 64

# The frequency prior: how much drawing mass the curated drugs share (see `frequency_prior`).
CURATED_SHARE = 0.8


def unknown_level(policy: str) -> Risk:
    """The risk DDInter's `Unknown` stands for under a policy ("moderate" by default)."""
    text = str(policy).strip().lower()
    if text not in UNKNOWN_POLICIES:
        raise ValueError(
            f"unknown_policy {policy!r}: expected one of {', '.join(UNKNOWN_POLICIES)}"
        )
    return Risk.parse(text)


def level_table(unknown: Risk) -> np.ndarray:
    """Label code -> risk level (int8) under the unknown policy."""
    return np.array([0, 1, 2, 3, int(unknown)], dtype=np.int8)


def rank_tables(unknown: Risk) -> tuple[np.ndarray, np.ndarray]:
    """Label -> rank and rank -> label: the worse risk wins; at equal risk a known level wins.

    So a pair listed Unknown in one file and Major in another is Major, and Unknown beats
    Minor when the policy reads it as moderate.
    """
    levels = level_table(unknown)
    rank = np.zeros(len(LABELS), dtype=np.uint8)
    for code in range(1, len(LABELS)):
        rank[code] = 2 * int(levels[code]) + int(code != UNKNOWN) + 1
    label = np.zeros(int(rank.max()) + 1, dtype=np.uint8)
    label[rank] = np.arange(len(LABELS), dtype=np.uint8)
    return rank, label


# --- reading -----------------------------------------------------------------------------------


def ddinter_files(path: str | Path | Sequence[str | Path]) -> tuple[Path, ...]:
    """The CSV files of a file, a folder (every *.csv in it, sorted) or a list of either."""
    items = [path] if isinstance(path, str | Path) else list(path)
    files: dict[Path, None] = {}
    for item in items:
        location = Path(item)
        if location.is_dir():
            found = sorted(p for p in location.iterdir() if p.suffix.lower() == ".csv")
            if not found:
                raise KnowledgeBaseError(f"{location}: no .csv files in the folder")
            files.update(dict.fromkeys(found))
        elif location.is_file():
            files[location] = None
        else:
            raise KnowledgeBaseError(f"{location}: no such file or folder")
    if not files:
        raise KnowledgeBaseError("no DDInter files given")
    if len(files) > MAX_FILES:
        raise KnowledgeBaseError(f"{len(files)} DDInter files: at most {MAX_FILES} per load")
    return tuple(files)


class _Reader:
    """Reads DDInter files into integer rows, checking each; keeps nothing on error.

    The per-row work is a few dictionary look-ups; anything unusual (spaces, other
    spellings, new ids, comments, blank rows) takes the slow path, which also checks it.
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}  # DDInter id as written -> record
        self.ids: list[str] = []
        self.names: list[str] = []
        self.keys: list[str] = []  # normalized names, to catch a drug paired with itself
        self.seen_at: list[str] = []
        self.first: list[int] = []
        self.second: list[int] = []
        self.labels: list[int] = []
        self.file_rows: list[int] = []  # rows read per file

    def read(self, path: Path) -> bytes:
        data, text = read_text(path)
        records = reader(text)
        start = len(self.labels)
        try:
            self._rows(path, records)
        except csv.Error as error:
            raise KnowledgeBaseError(f"{path}, line {records.line_num}: {error}") from None
        if len(self.labels) == start:
            raise KnowledgeBaseError(f"{path}: no interactions (only a header)")
        self.file_rows.append(len(self.labels) - start)
        return data

    def _rows(self, path: Path, records: csv.reader) -> None:  # type: ignore[valid-type]
        width, pick = self._header(path, records)
        index, names, keys = self.index, self.names, self.keys
        first, second, labels = self.first.append, self.second.append, self.labels.append
        for fields in records:
            if len(fields) != width:
                fields = fit_row(fields, width, path, records.line_num)
                if fields is None:
                    continue
            id_a, name_a, id_b, name_b, level = pick(fields)
            code = _FAST_CODES.get(level)
            a, b = index.get(id_a), index.get(id_b)
            if code is None or a is None or b is None or names[a] != name_a or names[b] != name_b:
                if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                    continue
                where = (path, records.line_num)
                code = _level(level, *where)
                a, b = (
                    self._record(id_a, name_a, "A", *where),
                    self._record(id_b, name_b, "B", *where),
                )
            if a == b or keys[a] == keys[b]:
                raise KnowledgeBaseError(
                    f"{path}, line {records.line_num}: drug {names[a]!r} interacts with itself"
                )
            first(a)
            second(b)
            labels(code)

    def _header(self, path: Path, records: csv.reader) -> tuple[int, operator.itemgetter]:  # type: ignore[valid-type]
        for fields in records:
            if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                continue
            columns = parse_header(fields, path, records.line_num, DDINTER_COLUMNS)
            positions = [columns[column] for column in DDINTER_COLUMNS]
            return max(columns.values()) + 1, operator.itemgetter(*positions)
        raise KnowledgeBaseError(f"{path}, line 1: empty file (no header)")

    def _record(self, raw_id: str, raw_name: str, side: str, path: Path, line: int) -> int:
        """The record of an id, created on first sight; one id must keep one name."""
        drug_id, name = raw_id.strip(), raw_name.strip()
        if not drug_id or not name:
            empty = f"DDInterID_{side}" if not drug_id else f"Drug_{side}"
            raise KnowledgeBaseError(f"{path}, line {line}: empty {empty}")
        found = self.index.get(drug_id)
        if found is None:
            found = len(self.ids)
            self.ids.append(drug_id)
            self.names.append(name)
            self.keys.append(normalize(name))
            self.seen_at.append(f"{path.name}, line {line}")
        elif self.names[found] != name and self.keys[found] != normalize(name):
            raise KnowledgeBaseError(
                f"{path}, line {line}: {drug_id} is named {name!r} here but "
                f"{self.names[found]!r} in {self.seen_at[found]}"
            )
        self.index[raw_id] = self.index[drug_id] = found
        return found


def _level(text: str, path: Path, line: int) -> int:
    code = _LABEL_CODES.get(text.strip().lower())
    if code is None:
        problem = f"unknown level {text.strip()!r}" if text.strip() else "empty Level"
        raise KnowledgeBaseError(
            f"{path}, line {line}: {problem} (expected Major, Moderate, Minor or Unknown)"
        )
    return code


# --- deduplicating and merging -----------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """Unordered pairs over n drugs, the worst entry's rank per pair (0: none), and counts."""

    n: int
    ranks: np.ndarray  # (n, n) uint8, symmetric
    entries: int  # entries offered (rows, or pairs of a finer table)
    pairs: int
    conflicts: int  # pairs whose entries carried different levels
    self_pairs: int  # entries whose two sides became one drug, dropped
    conflict_keys: np.ndarray  # first * n + second of conflicting pairs (first < second)

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of every pair with first < second."""
        return np.nonzero(np.triu(self.ranks, 1))


def combine(first: np.ndarray, second: np.ndarray, rank: np.ndarray, n: int) -> Pairs:
    """Deduplicate entries (either order) into pairs keeping the worst rank; count conflicts."""
    keep = first != second
    first, second, rank = first[keep], second[keep], rank[keep]
    low = np.minimum(first, second).astype(np.int64)
    key = low * n + np.maximum(first, second)
    worst = np.zeros(n * n, dtype=np.uint8)
    np.maximum.at(worst, key, rank)
    least = np.full(n * n, 255, dtype=np.uint8)
    np.minimum.at(least, key, rank)
    present = worst > 0
    conflict_keys = np.flatnonzero(present & (least != worst))
    ranks = worst.reshape(n, n)
    return Pairs(
        n=n,
        ranks=ranks | ranks.T,
        entries=int(keep.size),
        pairs=int(np.count_nonzero(present)),
        conflicts=int(conflict_keys.size),
        self_pairs=int(keep.size - rank.size),
        conflict_keys=conflict_keys,
    )


def project(pairs: Pairs, mapping: np.ndarray, n: int) -> Pairs:
    """The pairs seen through a many-to-one mapping of drugs (merging): worst rank kept."""
    rows, cols = pairs.upper()
    return combine(mapping[rows], mapping[cols], pairs.ranks[rows, cols], n)


def _file_masks(first: np.ndarray, second: np.ndarray, file: np.ndarray, n: int) -> np.ndarray:
    """(n, n) bit masks of the files that list each pair, for the provenance of a reason."""
    needed = int(file.max()) + 1 if file.size else 1
    dtype = next(
        t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= needed
    )
    key = np.minimum(first, second).astype(np.int64) * n + np.maximum(first, second)
    masks = np.zeros(n * n, dtype=dtype)
    np.bitwise_or.at(masks, key, np.left_shift(dtype(1), file.astype(dtype)))
    masks = masks.reshape(n, n)
    return masks | masks.T


@dataclass(frozen=True)
class DDInterData:
    """DDInter files read, deduplicated and merged by name; nothing of a KB yet."""

    files: tuple[Path, ...]
    blobs: tuple[tuple[str, bytes], ...]
    ids: tuple[str, ...]  # per record
    names: tuple[str, ...]  # per record, as written
    raw: Pairs  # over records
    raw_files: np.ndarray  # (records, records) bit masks of files
    file_counts: tuple[dict[str, int], ...]
    drugs: tuple[str, ...]  # merged drugs: canonical (merge-key) names, sorted
    members: tuple[tuple[int, ...], ...]  # per merged drug: its records
    mapping: np.ndarray  # record -> merged drug
    merged: Pairs  # over merged drugs
    unknown: Risk
    rank: np.ndarray  # label -> rank
    label: np.ndarray  # rank -> label

    def labels(self, pairs: Pairs) -> np.ndarray:
        """Label codes (uint8) of a pair table."""
        return self.label[pairs.ranks]

    def level_counts(self, pairs: Pairs) -> dict[str, int]:
        rows, cols = pairs.upper()
        found = np.bincount(self.label[pairs.ranks[rows, cols]], minlength=len(LABELS))
        return {LABELS[code]: int(found[code]) for code in (3, 2, 1, 4)}

    def conflict_examples(self, pairs: Pairs, names: Sequence[str], limit: int = 3) -> list[str]:
        """A few conflicting pairs by name, for the report."""
        return [
            f"{names[key // pairs.n]} + {names[key % pairs.n]}"
            for key in pairs.conflict_keys[:limit].tolist()
        ]


def read_ddinter(path: str | Path | Sequence[str | Path], unknown: Risk) -> DDInterData:
    """Read and check every file, then deduplicate rows and merge records by name."""
    files = ddinter_files(path)
    records = _Reader()
    blobs = tuple((file.name, records.read(file)) for file in files)
    first = np.array(records.first, dtype=np.int32)
    second = np.array(records.second, dtype=np.int32)
    labels = np.array(records.labels, dtype=np.uint8)
    file = np.repeat(np.arange(len(files), dtype=np.uint8), records.file_rows)
    rank, label = rank_tables(unknown)
    n = len(records.ids)
    raw = combine(first, second, rank[labels], n)

    file_counts = []
    ends = np.cumsum(records.file_rows)
    for end, count in zip(ends.tolist(), records.file_rows, strict=True):
        found = np.bincount(labels[end - count : end], minlength=len(LABELS))
        file_counts.append({"rows": count, **{LABELS[c]: int(found[c]) for c in (3, 2, 1, 4)}})

    keys = [merge_key(name) for name in records.names]
    drugs = tuple(sorted(set(keys)))
    position = {name: i for i, name in enumerate(drugs)}
    mapping = np.array([position[key] for key in keys], dtype=np.int32)
    members: list[list[int]] = [[] for _ in drugs]
    for record, drug in enumerate(mapping.tolist()):
        members[drug].append(record)
    return DDInterData(
        files=files,
        blobs=blobs,
        ids=tuple(records.ids),
        names=tuple(records.names),
        raw=raw,
        raw_files=_file_masks(first, second, file, n),
        file_counts=tuple(file_counts),
        drugs=drugs,
        members=tuple(tuple(m) for m in members),
        mapping=mapping,
        merged=project(raw, mapping, len(drugs)),
        unknown=unknown,
        rank=rank,
        label=label,
    )


def report_ddinter(data: DDInterData, report: LoadReport) -> None:
    """The raw counts (as the files say) and, apart, what merging by name did."""
    for path, counts in zip(data.files, data.file_counts, strict=True):
        report.add(f"file {path.name}", counts)
    raw, merged = data.raw, data.merged
    report.add(
        "raw (before any merging)",
        {
            "rows": raw.entries,
            "drug records": len(data.ids),
            "unique pairs": raw.pairs,
            "repeated rows": raw.entries - raw.pairs,
            "pairs with conflicting levels": raw.conflicts,
        },
    )
    report.add("raw pairs", data.level_counts(raw))
    report.add(
        "merging records by name (route, salt, formulation qualifiers)",
        {
            "records": len(data.ids),
            "drugs": len(data.drugs),
            "records merged into another": len(data.ids) - len(data.drugs),
            "pairs": merged.pairs,
            "pairs from several records": merged.entries - merged.pairs,
            "pairs with conflicting levels (worst kept)": merged.conflicts,
            "self pairs dropped": raw.self_pairs + merged.self_pairs,
        },
    )
    report.add("merged pairs", data.level_counts(merged))
    examples = data.conflict_examples(merged, data.drugs)
    if examples:
        report.note(f"merging conflicts (worst level kept), e.g. {'; '.join(examples)}")
    policy = data.unknown.name.lower()
    report.note(
        f"DDInter level Unknown ({data.level_counts(merged)['unknown']:,} pairs) is treated as "
        f"{policy} (kb.unknown_policy; one of {', '.join(UNKNOWN_POLICIES)})"
    )


# --- the evidence kept in the knowledge base ---------------------------------------------------


@dataclass(frozen=True)
class DDInterEvidence:
    """DDInter's level for each KB pair, with the records and files behind it.

    Reasons are built when asked (a lookup, or the first alert for a pair), not stored.
    """

    labels: np.ndarray  # (n, n) uint8 label codes on KB ids
    unknown: Risk
    members: tuple[tuple[int, ...], ...]  # KB id -> DDInter records
    ids: tuple[str, ...]
    names: tuple[str, ...]
    raw_labels: np.ndarray  # (records, records) uint8 label codes
    raw_files: np.ndarray  # (records, records) file bit masks
    files: tuple[str, ...]

    def has(self, first: int, second: int) -> bool:
        return bool(self.labels[first, second])

    def level(self, first: int, second: int) -> Risk | None:
        """The risk DDInter gives a pair under the unknown policy, None when not listed."""
        label = int(self.labels[first, second])
        if not label:
            return None
        return self.unknown if label == UNKNOWN else Risk(label)

    def reasons(self, first: int, second: int, partner: str) -> tuple[Reason, ...]:
        level = self.level(first, second)
        if level is None:
            return ()
        label = LABELS[int(self.labels[first, second])].capitalize()
        listed = [
            (a, b)
            for a in self.members[first]
            for b in self.members[second]
            if self.raw_labels[a, b]
        ]
        detail = f"DDInter level {label}"
        if label == "Unknown":
            detail += f" (severity not given; treated as {level.name.lower()} by unknown_policy)"
        shown = ", ".join(
            f"{self.names[a]} + {self.names[b]}: {LABELS[int(self.raw_labels[a, b])]}"
            for a, b in listed
        )
        detail += f"; from {shown}" if len(listed) > 1 else f" ({shown.rsplit(':', 1)[0]})"
        masks = 0
        for a, b in listed:
            masks |= int(self.raw_files[a, b])
        files = [name for bit, name in enumerate(self.files) if masks >> bit & 1]
        pairs = ", ".join(f"{self.ids[a]} + {self.ids[b]}" for a, b in listed)
        source = f"{DDINTER_SOURCE}: {pairs} in {', '.join(files)}"
        return (Reason("interaction", level, partner, detail, source),)


def make_evidence(
    data: DDInterData, pairs: Pairs, members: Sequence[Sequence[int]]
) -> DDInterEvidence:
    """The evidence object for KB ids whose DDInter records are `members`."""
    return DDInterEvidence(
        labels=data.labels(pairs),
        unknown=data.unknown,
        members=tuple(tuple(m) for m in members),
        ids=data.ids,
        names=data.names,
        raw_labels=data.labels(data.raw),
        raw_files=data.raw_files,
        files=tuple(path.name for path in data.files),
    )


# --- shared assembly ---------------------------------------------------------------------------


def frequency_prior(
    partners: np.ndarray, curated: int = 0, curated_share: float = CURATED_SHARE
) -> np.ndarray:
    """Drawing weights: curated drugs share `curated_share` evenly, the rest by partner count.

    The curated list holds the drugs of everyday prescribing, so a patient generator should
    meet them most of the time; DDInter's other drugs form a long tail in which a drug with
    many documented interactions (a proxy for wide use, not a prescription statistic) is
    drawn more often than a rarely used one.
    """
    n = partners.size
    if not 0 < curated_share < 1:
        raise ValueError(f"curated_share must lie in (0, 1), got {curated_share}")
    tail = np.maximum(partners[curated:], 1).astype(np.float64)
    if curated == 0:
        return tail / tail.sum()
    if curated == n:
        return np.full(n, 1.0 / n)
    head = np.full(curated, curated_share / curated)
    return np.concatenate([head, (1 - curated_share) * tail / tail.sum()])


def content_hash(parts: Sequence[tuple[str, bytes]]) -> str:
    """sha256 over named parts (files, digests, the policy), in the order given."""
    digest = hashlib.sha256()
    for name, data in parts:
        digest.update(name.encode() + b"\n")
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Sources:
    """The optional run-time files beside DDInter: names, ATC codes, class prefixes."""

    vocabulary: DrugVocabulary | None
    atc: AtcIndex | None
    class_atc: ClassAtc

    @classmethod
    def load(
        cls,
        vocabulary: str | Path | None,
        atc: str | Path | None,
        class_atc: str | Path = CLASS_ATC_PATH,
    ) -> Sources:
        return cls(
            load_vocabulary(vocabulary) if vocabulary else None,
            load_atc(atc) if atc else None,
            load_class_atc(class_atc),
        )

    def hash_parts(self) -> list[tuple[str, bytes]]:
        parts = [("class_atc", self.class_atc.digest.encode())]
        if self.vocabulary is not None:
            parts.append(("vocabulary", self.vocabulary.digest.encode()))
        if self.atc is not None:
            parts.append(("atc", self.atc.digest.encode()))
        return parts

    def unknown_hint(self) -> str:
        if self.vocabulary is not None:
            return ""
        return (
            " (no DrugBank vocabulary loaded, kb.vocabulary: only the sources' own names "
            "resolve, so brand names and synonyms such as 'aspirin' are unknown)"
        )


# --- kb=ddinter ----------------------------------------------------------------------------------


def load_ddinter(
    path: str | Path | Sequence[str | Path] | None,
    vocabulary: str | Path | None = None,
    atc: str | Path | None = None,
    unknown_policy: str = DEFAULT_UNKNOWN_POLICY,
    name: str = "ddinter",
    class_atc: str | Path = CLASS_ATC_PATH,
) -> KnowledgeBase:
    """DDInter files (a file, a folder of them, or a list) as a KnowledgeBase (`kb=ddinter`).

    `vocabulary` (DrugBank's vocabulary CSV) lets brand names and synonyms resolve;
    `atc` (the WHO ATC index CSV) gives each drug its ATC codes and our curated classes.
    DDInter has no condition or lab rules, so those tables are empty here.
    """
    if path is None:
        raise KnowledgeBaseError("no DDInter path: set kb.path to the DDInter file or folder")
    unknown = unknown_level(unknown_policy)
    data = read_ddinter(path, unknown)
    sources = Sources.load(vocabulary, atc, class_atc)
    report = LoadReport(name)
    report_ddinter(data, report)

    n = len(data.drugs)
    record_names = [[data.names[r] for r in records] for records in data.members]
    aliases, drugbank_names = link_names(
        [[drug] for drug in data.drugs],
        record_names,
        [[[name] for name in names] for names in record_names],
        sources.vocabulary,
        report,
    )
    own_names = [[drug, *names] for drug, names in zip(data.drugs, record_names, strict=True)]
    codes = link_atc(own_names, drugbank_names, sources.atc, report)
    classes: dict[str, list[int]] = {}
    if sources.atc is not None:
        for drug, found in enumerate(codes):
            for drug_class in sources.class_atc.classes_of(found):
                classes.setdefault(drug_class, []).append(drug)
        report.add("classes from ATC codes", {c: len(m) for c, m in classes.items()})

    labels = data.labels(data.merged)
    pair_levels = level_table(unknown)[labels]
    pair_sources = np.where(labels > 0, DDINTER, 0).astype(np.int8)
    partners = np.count_nonzero(labels, axis=1)
    report.add("knowledge base", _kb_counts(n, pair_levels, pair_sources))
    parts = [*data.blobs, *sources.hash_parts(), ("unknown_policy", unknown.name.encode())]
    kb = KnowledgeBase(
        name=name,
        drugs=data.drugs,
        aliases=aliases,
        classes={c: tuple(data.drugs[i] for i in members) for c, members in classes.items()},
        pair_levels=pair_levels,
        pair_reasons={},
        condition_levels=np.zeros((n, len(CONDITIONS)), dtype=np.int8),
        condition_reasons={},
        lab_rules=((),) * n,
        content_hash=content_hash(parts),
        pair_sources=pair_sources,
        evidence=make_evidence(data, data.merged, data.members),
        drug_weights=frequency_prior(partners),
        atc_codes=codes,
        load_report=report,
        unknown_hint=sources.unknown_hint(),
    )
    report.content_hash = kb.content_hash
    log.info(
        "loaded DDInter KB %r from %d file(s): %d records -> %d drugs, %d pairs, hash %s",
        name, len(data.files), len(data.ids), n, data.merged.pairs, kb.content_hash[:12],
    )  # fmt: skip
    return kb


def _kb_counts(n: int, pair_levels: np.ndarray, pair_sources: np.ndarray) -> dict[str, int]:
    """Drugs and judged pairs per risk level, as the environment and agents will see them."""
    judged = np.triu(pair_sources != 0, 1)
    found = np.bincount(pair_levels[judged], minlength=len(Risk))
    counts = {"drugs": n, "pairs": int(judged.sum())}
    counts.update({f"{level.name.lower()}": int(found[level]) for level in Risk})
    return counts
