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
import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cdss.knowledge.kb import DDINTER, KnowledgeBase
from cdss.knowledge.loader import content_hash
from cdss.knowledge.model import (
    CONDITIONS,
    DEFAULT_UNKNOWN_POLICY,
    UNKNOWN_POLICIES,
    KnowledgeBaseError,
    Reason,
    Risk,
    unknown_level,
)
from cdss.knowledge.names import merge_key, normalize
from cdss.knowledge.report import LoadReport
from cdss.knowledge.tables import fit_row, parse_header, read_text, reader
from cdss.knowledge.vocabulary import CLASS_ATC_PATH, Sources, link_atc, link_names

log = logging.getLogger(__name__)

DDINTER_COLUMNS = ("ddinterid_a", "drug_a", "ddinterid_b", "drug_b", "level")
DDINTER_SOURCE = "DDInter (Xiong et al., Nucleic Acids Res 2022;50:D1200; CC BY-NC-SA 4.0)"

# Label codes of DDInter's levels in the label tables; 0 means no entry.
LABELS = ("none", "minor", "moderate", "major", "unknown")
UNKNOWN = 4
LEVEL_NAMES = ("Major", "Moderate", "Minor", "Unknown")
_LABEL_CODES = {"minor": 1, "moderate": 2, "major": 3, "unknown": 4}
_FAST_CODES = {
    spelling: code
    for label, code in _LABEL_CODES.items()
    for spelling in (label, label.capitalize(), label.upper())
}
MAX_FILES = 64

# The frequency prior: how much drawing mass the curated drugs share (see `frequency_prior`).
CURATED_SHARE = 0.8


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


class _Records:
    """DDInter drug records of one load (every file): one id, one name, in reading order.

    Also the spellings seen so far (ids, names and levels as written, spaces and all), so
    the rows of every later file map through plain dictionary look-ups.
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}  # DDInter id -> record
        self.ids: list[str] = []
        self.names: list[str] = []
        self.key_ids: list[int] = []  # per record: id of its normalized name
        self.first_file: list[str] = []
        self.by_id: dict[str, int] = {}  # id as written -> record
        self.by_name: dict[str, int] = {}  # name as written -> record
        self.codes: dict[str, int] = dict(_FAST_CODES)  # level as written -> label code
        self._keys: dict[str, int] = {}

    def add(self, drug_id: str, name: str, file: str) -> int | str:
        """The record of an id (created on first sight), or the other name it had before."""
        found = self.index.get(drug_id)
        if found is not None and self.names[found] == name:
            return found
        key = normalize(name)
        if found is None:
            found = self.index[drug_id] = len(self.ids)
            self.ids.append(drug_id)
            self.names.append(name)
            self.key_ids.append(self._keys.setdefault(key, len(self._keys)))
            self.first_file.append(file)
        elif self._keys.get(key) != self.key_ids[found]:
            return self.names[found]
        return found

    def renamed(self, record: int, name: str) -> str:
        drug_id, before, where = self.ids[record], self.names[record], self.first_file[record]
        return f"{drug_id} is named {name.strip()!r} here but {before!r} in {where}"


Columns = Sequence[Sequence[str]]  # DDINTER_COLUMNS, in that order


class _Irregular(Exception):
    """A blank or comment row met on the fast path: read the file the csv module's way."""


def _read_file(path: Path, records: _Records) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """One file's bytes and its rows as (first record, second record, label code) arrays.

    Checks run column-wise, over the few distinct values of each column, not row by row.
    A file of plain lines (one row per line, no padding, blank or comment rows: DDInter's
    own downloads) is split without the csv module; any other file goes through it.
    """
    data, text = read_text(path)
    simple = _split_lines(text, path)
    if simple is not None:
        try:
            first, second, labels = _Columns(path, records, simple[1], _Irregular).arrays(simple[0])
            return data, first, second, labels
        except _Irregular:
            pass
    columns, line_of = _parse_csv(text, path)
    first, second, labels = _Columns(path, records, line_of).arrays(columns)
    return data, first, second, labels


def _split_lines(text: str, path: Path) -> tuple[list[list[str]], Callable[[int], int]] | None:
    """Columns and line numbers of a file whose every line is one row of the header's width.

    The few lines holding a quote go through the csv module one by one; the others are
    split on commas all at once. None when a line does not fit: the csv module reads it.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    quotes = text.count('"')
    if quotes % 2:
        return None  # a quote left open: only the csv module can say where
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) < 2 or '"' in lines[0] or not lines[0].strip() or lines[0].startswith("#"):
        return None
    header = lines[0].split(",")
    if not header[-1].strip():
        return None
    where = parse_header(header, path, 1, DDINTER_COLUMNS)
    width = len(header)
    body = lines[1:]
    quoted = _quoted_lines(text) if quotes else []
    if len(quoted) > len(body) // 10:
        return None  # mostly quoted (a spreadsheet export): the csv module is as fast
    plain = body
    if quoted:
        plain = body.copy()
        for row in reversed(quoted):
            del plain[row]
    if set(map(operator.methodcaller("count", ","), plain)) - {width - 1}:
        return None
    cells = ",".join(plain).split(",") if plain else []
    columns = [cells[where[column] :: width] for column in DDINTER_COLUMNS]
    if not quoted:
        return columns, range(2, len(body) + 2).__getitem__
    numbers = np.delete(np.arange(2, len(body) + 2), quoted)
    for row in quoted:
        fields: list[str] = next(reader(body[row]))
        if body[row].count('"') % 2 or len(fields) != width:
            return None  # a quoted field spans lines, or the row does not fit
        for column, name in zip(columns, DDINTER_COLUMNS, strict=True):
            column.append(fields[where[name]])
    numbers = np.concatenate([numbers, np.array(quoted) + 2])
    return columns, lambda row: int(numbers[row])


def _quoted_lines(text: str) -> list[int]:
    """Rows (0 = the line after the header) holding a quote, from the quotes' positions."""
    rows: dict[int, None] = {}
    line, start = -1, 0
    position = text.find('"')
    while position >= 0:
        line += text.count("\n", start, position)
        rows[line] = None
        start = position
        position = text.find('"', position + 1)
    return list(rows)


def _parse_csv(text: str, path: Path) -> tuple[list[tuple[str, ...]], Callable[[int], int]]:
    """Columns of any CSV text (the csv module's way), without blank and comment rows."""
    rows = reader(text)
    body: list[list[str]] = []
    numbers: list[int] = []
    header: dict[str, int] | None = None
    width = 0
    try:
        for fields in rows:
            if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = parse_header(fields, path, rows.line_num, DDINTER_COLUMNS)
                width = max(header.values()) + 1
                continue
            fitted = fit_row(fields, width, path, rows.line_num)
            if fitted is not None:
                body.append(fitted)
                numbers.append(rows.line_num)
    except csv.Error as error:
        raise KnowledgeBaseError(f"{path}, line {rows.line_num}: {error}") from None
    if header is None:
        raise KnowledgeBaseError(f"{path}, line 1: empty file (no header)")
    picks = [operator.itemgetter(header[column]) for column in DDINTER_COLUMNS]
    return [tuple(map(pick, body)) for pick in picks], numbers.__getitem__


class _Columns:
    """Checks one file's columns and turns them into record and label arrays.

    Every id, name and level maps through dictionaries of the spellings seen so far (ids,
    names and levels as written, spaces and all) and the results compare as lists; a new
    spelling is checked once and learned, so the work per row is a few look-ups in C.
    With `irregular`, a blank or comment row raises it (the caller then reads the file the
    csv module's way) instead of failing as an empty id.
    """

    def __init__(
        self,
        path: Path,
        records: _Records,
        line_of: Callable[[int], int],
        irregular: type[Exception] | None = None,
    ) -> None:
        self.path, self.records, self.line_of, self.irregular = path, records, line_of, irregular

    def fail(self, row: int, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"{self.path}, line {self.line_of(row)}: {problem}")

    def arrays(self, columns: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first record, second record, label code) per row; `columns` follow DDINTER_COLUMNS."""
        if not columns[0]:
            raise KnowledgeBaseError(f"{self.path}: no interactions (only a header)")
        id_a, name_a, id_b, name_b, level = columns
        first = self.side(id_a, name_a, "A")
        second = self.side(id_b, name_b, "B")
        labels = self.labels(level)
        key_ids = np.array(self.records.key_ids, dtype=np.int32)
        same = np.flatnonzero((first == second) | (key_ids[first] == key_ids[second]))
        if same.size:
            name = self.records.names[int(first[same[0]])]
            raise self.fail(int(same[0]), f"drug {name!r} interacts with itself")
        return first, second, labels

    def labels(self, level: Sequence[str]) -> np.ndarray:
        """Label codes of the Level column; an unknown level fails on its first row."""
        codes = self.records.codes
        try:
            return np.array(list(map(codes.__getitem__, level)), dtype=np.uint8)
        except KeyError:
            pass
        for value in set(level).difference(codes):
            code = _LABEL_CODES.get(value.strip().lower())
            if code is None:
                problem = f"unknown level {value.strip()!r}" if value.strip() else "empty Level"
                expected = f"expected {', '.join(LEVEL_NAMES)}"
                raise self.fail(list(level).index(value), f"{problem} ({expected})")
            codes[value] = code
        return np.array(list(map(codes.__getitem__, level)), dtype=np.uint8)

    def side(self, ids: Sequence[str], names: Sequence[str], side: str) -> np.ndarray:
        """Record numbers of one side's rows; an id keeps one name, neither may be empty.

        On a new spelling, learns the file's spellings: first each id with the name of its
        first row, then, if an id is written with several names, every pair in row order.
        """
        mapped = self._map(ids, names)
        if mapped is None:
            first_names = dict(zip(reversed(ids), reversed(names), strict=True))
            self._learn(first_names.items(), ids, names, side)
            mapped = self._map(ids, names)
        if mapped is None:
            self._learn(dict.fromkeys(zip(ids, names, strict=True)), ids, names, side)
            by_id, by_name = self.records.by_id, self.records.by_name
            mapped = [by_id[i] for i in ids], [by_name.get(n, -1) for n in names]
        found, named = mapped
        if found != named:
            for row, (record, other) in enumerate(zip(found, named, strict=True)):
                # A name written for two ids is fine only when it is this id's name too.
                if record != other and normalize(names[row]) != normalize(
                    self.records.names[record]
                ):
                    raise self.fail(row, self.records.renamed(record, names[row]))
        return np.array(found, dtype=np.int32)

    def _map(self, ids: Sequence[str], names: Sequence[str]) -> tuple[list[int], list[int]] | None:
        """Records by id and by name for every row, or None when a spelling is new."""
        by_id, by_name = self.records.by_id, self.records.by_name
        try:
            return list(map(by_id.__getitem__, ids)), list(map(by_name.__getitem__, names))
        except KeyError:
            return None

    def _learn(
        self,
        spellings: Iterable[tuple[str, str]],
        ids: Sequence[str],
        names: Sequence[str],
        side: str,
    ) -> None:
        """Check and remember (id, name) spellings not seen before."""
        records = self.records
        for raw_id, raw_name in spellings:
            known = records.by_id.get(raw_id)
            if known is not None and records.names[known] == raw_name:
                records.by_name.setdefault(raw_name, known)
                continue
            drug_id, name = raw_id.strip(), raw_name.strip()
            if self.irregular is not None and (not drug_id or drug_id.startswith("#")):
                raise self.irregular
            found = records.add(drug_id, name, self.path.name) if drug_id and name else None
            if isinstance(found, int):
                records.by_id[raw_id] = found
                records.by_name.setdefault(raw_name, found)
                continue
            row = list(zip(ids, names, strict=True)).index((raw_id, raw_name))
            if found is None:
                empty = f"DDInterID_{side}" if not drug_id else f"Drug_{side}"
                raise self.fail(row, f"empty {empty}")
            raise self.fail(row, records.renamed(records.index[drug_id], name))


# --- deduplicating and merging -------------------------------------------------------------------


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
    keys: np.ndarray  # first * n + second of every pair (first < second), ascending

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of every pair with first < second."""
        return np.divmod(self.keys, self.n)


def combine(first: np.ndarray, second: np.ndarray, rank: np.ndarray, n: int) -> Pairs:
    """Deduplicate entries (either order) into pairs keeping the worst rank; count conflicts."""
    keep = first != second
    first, second, rank = first[keep], second[keep], rank[keep]
    low = np.minimum(first, second).astype(np.int64)
    key = low * n + np.maximum(first, second)
    # The worst rank per pair by plain assignment, one rank at a time in rising order: a
    # later write wins, which is several times faster than np.maximum.at.
    worst = np.zeros(n * n, dtype=np.uint8)
    for value in np.flatnonzero(np.bincount(rank)).tolist():
        worst[key[rank == value]] = value
    keys = np.flatnonzero(worst)
    conflict_keys = np.unique(key[worst[key] != rank])  # an entry below its pair's worst
    ranks = worst.reshape(n, n)
    return Pairs(
        n=n,
        ranks=ranks | ranks.T,
        entries=int(keep.size),
        pairs=int(keys.size),
        conflicts=int(conflict_keys.size),
        self_pairs=int(keep.size - rank.size),
        conflict_keys=conflict_keys,
        keys=keys,
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
    flat = np.zeros(n * n, dtype=dtype)
    for bit in range(needed):
        chosen = key[file == bit]
        flat[chosen] |= dtype(1) << dtype(bit)  # repeats within a file set the same bit
    masks = flat.reshape(n, n)
    return np.bitwise_or(masks, masks.T)


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
        """Pairs per DDInter level (Unknown apart), worst first."""
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
    records = _Records()
    blobs, firsts, seconds, labels_per_file = [], [], [], []
    for file in files:
        data, first_ids, second_ids, file_labels = _read_file(file, records)
        blobs.append((file.name, data))
        firsts.append(first_ids)
        seconds.append(second_ids)
        labels_per_file.append(file_labels)
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    labels = np.concatenate(labels_per_file)
    file_rows = [found.size for found in labels_per_file]
    file_of_row = np.repeat(np.arange(len(files), dtype=np.uint8), file_rows)
    rank, label = rank_tables(unknown)
    n = len(records.ids)
    raw = combine(first, second, rank[labels], n)

    file_counts = []
    for file_labels in labels_per_file:
        found = np.bincount(file_labels, minlength=len(LABELS))
        counts = {LABELS[code]: int(found[code]) for code in (3, 2, 1, 4)}
        file_counts.append({"rows": file_labels.size, **counts})

    keys = [merge_key(name) for name in records.names]
    drugs = tuple(sorted(set(keys)))
    position = {name: i for i, name in enumerate(drugs)}
    mapping = np.array([position[key] for key in keys], dtype=np.int32)
    members: list[list[int]] = [[] for _ in drugs]
    for record, drug in enumerate(mapping.tolist()):
        members[drug].append(record)
    return DDInterData(
        files=files,
        blobs=tuple(blobs),
        ids=tuple(records.ids),
        names=tuple(records.names),
        raw=raw,
        raw_files=_file_masks(first, second, file_of_row, n),
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
            "pairs from several records": merged.entries - merged.self_pairs - merged.pairs,
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
    raw_ranks: np.ndarray  # (records, records) uint8 ranks (see rank_tables)
    rank_labels: np.ndarray  # rank -> label code
    raw_files: np.ndarray  # (records, records) file bit masks
    files: tuple[str, ...]

    def raw_label(self, first: int, second: int) -> int:
        """The label code DDInter gives two records (0: not listed)."""
        return int(self.rank_labels[self.raw_ranks[first, second]])

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
            if self.raw_ranks[a, b]
        ]
        detail = f"DDInter level {label}"
        if label == "Unknown":
            detail += f" (severity not given; treated as {level.name.lower()} by unknown_policy)"
        shown = ", ".join(
            f"{self.names[a]} + {self.names[b]}: {LABELS[self.raw_label(a, b)]}" for a, b in listed
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
    data: DDInterData, labels: np.ndarray, members: Sequence[Sequence[int]]
) -> DDInterEvidence:
    """The evidence object for KB ids with these label codes and DDInter records."""
    return DDInterEvidence(
        labels=labels,
        unknown=data.unknown,
        members=tuple(tuple(m) for m in members),
        ids=data.ids,
        names=data.names,
        raw_ranks=data.raw.ranks,
        rank_labels=data.label,
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
        [[[name, merge_key(name)] for name in names] for names in record_names],
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
    pair_sources = np.multiply(labels > 0, DDINTER, dtype=np.int8)
    partners = np.count_nonzero(labels, axis=1)
    report.add("knowledge base", _kb_counts(pair_levels, *data.merged.upper()))
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
        evidence=make_evidence(data, labels, data.members),
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


def _kb_counts(pair_levels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> dict[str, int]:
    """Drugs and judged pairs (given by rows < cols) per risk level, as agents will see them."""
    found = np.bincount(pair_levels[rows, cols], minlength=len(Risk))
    counts = {"drugs": len(pair_levels), "pairs": int(rows.size)}
    counts.update({f"{level.name.lower()}": int(found[level]) for level in Risk})
    return counts
