"""Name and class vocabularies read at run time: DrugBank's drug vocabulary and the WHO ATC index.

Neither file ships with the package (the ATC index's terms forbid redistributing anything
derived from it): both are read from paths given in config, and only the mapping from our
own curated classes to ATC code prefixes (`mappings/class_atc.csv`, codes are facts) ships.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdss.knowledge.model import KnowledgeBaseError
from cdss.knowledge.names import normalize, strip_forms
from cdss.knowledge.report import LoadReport
from cdss.knowledge.tables import read_text, rows

log = logging.getLogger(__name__)

CLASS_ATC_PATH = Path(__file__).resolve().parent / "mappings" / "class_atc.csv"
SYNONYM_SEPARATOR = "|"
ATC_LEVEL5_LENGTH = 7
_ATC_CODE = re.compile(r"^[A-Z](?:\d{2}(?:[A-Z](?:[A-Z](?:\d{2})?)?)?)?$")
_PARENS = re.compile(r"\s*\([^)]*\)")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- DrugBank vocabulary -----------------------------------------------------------------------


@dataclass(frozen=True)
class DrugVocabulary:
    """DrugBank drugs by normalized common name and synonym ("aspirin" -> Acetylsalicylic acid).

    A synonym two drugs share is ambiguous and left out; a common name always wins over
    another drug's synonym.
    """

    path: Path
    digest: str
    ids: tuple[str, ...]
    common_names: tuple[str, ...]
    names: tuple[tuple[str, ...], ...]  # per drug: normalized common name, then synonyms
    by_common: Mapping[str, int]
    by_synonym: Mapping[str, int]
    ambiguous: int

    def __len__(self) -> int:
        return len(self.ids)

    def concept(self, names: Iterable[str]) -> int | None:
        """The DrugBank row of the first name found as a common name, else as a synonym."""
        options = [normalize(name) for name in names]
        for option in options:
            found = self.by_common.get(option)
            if found is not None:
                return found
        for option in options:
            found = self.by_synonym.get(option)
            if found is not None:
                return found
        return None


def load_vocabulary(path: str | Path) -> DrugVocabulary:
    """Read DrugBank's open vocabulary CSV (DrugBank ID, Common name, Synonyms, ...)."""
    path = Path(path)
    data, text = read_text(path)
    columns, body = rows(path, text, ("drugbank id", "common name", "synonyms"))
    id_at, name_at, synonyms_at = (columns[c] for c in ("drugbank id", "common name", "synonyms"))
    ids: list[str] = []
    common_names: list[str] = []
    names: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for line, fields in body:
        drug_id, common = fields[id_at], fields[name_at]
        if not drug_id or not common:
            raise KnowledgeBaseError(f"{path}, line {line}: empty DrugBank ID or Common name")
        if drug_id in seen:
            raise KnowledgeBaseError(
                f"{path}, line {line}: DrugBank ID {drug_id} listed twice (first on line "
                f"{seen[drug_id]})"
            )
        seen[drug_id] = line
        own = normalize(common)
        written = (normalize(s) for s in fields[synonyms_at].split(SYNONYM_SEPARATOR))
        ids.append(drug_id)
        common_names.append(common)
        names.append((own, *dict.fromkeys(s for s in written if s and s != own)))
    if not ids:
        raise KnowledgeBaseError(f"{path}: no drugs (only a header)")

    by_common, common_clashes = _unique_index((row, entry[:1]) for row, entry in enumerate(names))
    by_synonym, synonym_clashes = _unique_index((row, entry[1:]) for row, entry in enumerate(names))
    synonyms = {name: row for name, row in by_synonym.items() if name not in by_common}
    ambiguous = common_clashes + synonym_clashes
    vocabulary = DrugVocabulary(
        path, _digest(data), tuple(ids), tuple(common_names), tuple(names),
        by_common, synonyms, ambiguous,
    )  # fmt: skip
    log.info(
        "read DrugBank vocabulary %s: %d drugs, %d synonyms, %d ambiguous names left out",
        path, len(ids), len(synonyms), ambiguous,
    )  # fmt: skip
    return vocabulary


def _unique_index(entries: Iterable[tuple[int, Sequence[str]]]) -> tuple[dict[str, int], int]:
    """name -> row for names claimed by exactly one row, and how many names were ambiguous."""
    index: dict[str, int] = {}
    clashes: set[str] = set()
    for row, names in entries:
        for name in names:
            owner = index.setdefault(name, row)
            if owner != row:
                clashes.add(name)
    for name in clashes:
        del index[name]
    return index, len(clashes)


# --- WHO ATC index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AtcIndex:
    """ATC codes by substance name (level 5), read from the WHO ATC/DDD index CSV."""

    path: Path
    digest: str
    names: Mapping[str, str]  # code -> name, every level
    by_name: Mapping[str, tuple[str, ...]]  # normalized level-5 name -> codes
    by_stripped: Mapping[str, tuple[str, ...]]  # without brackets and salt words -> codes

    def codes(self, names: Iterable[str]) -> tuple[str, ...]:
        """Every level-5 code whose name is exactly one of `names` (normalized)."""
        found: dict[str, None] = {}
        for name in names:
            found.update(dict.fromkeys(self.by_name.get(normalize(name), ())))
        return tuple(sorted(found))

    def codes_loose(self, names: Iterable[str]) -> tuple[str, ...]:
        """Codes matched after dropping brackets and salt words on both sides."""
        found: dict[str, None] = {}
        for name in names:
            found.update(dict.fromkeys(self.by_stripped.get(_loose(name), ())))
        return tuple(sorted(found))


def _loose(name: str) -> str:
    return strip_forms(normalize(_PARENS.sub(" ", normalize(name))))


def load_atc(path: str | Path) -> AtcIndex:
    """Read the ATC index CSV (atc_code, atc_name, ...); a code must look like an ATC code."""
    path = Path(path)
    data, text = read_text(path)
    columns, body = rows(path, text, ("atc_code", "atc_name"))
    code_at, name_at = columns["atc_code"], columns["atc_name"]
    names: dict[str, str] = {}
    by_name: dict[str, dict[str, None]] = {}
    by_stripped: dict[str, dict[str, None]] = {}
    for line, fields in body:
        code, name = fields[code_at].upper(), fields[name_at]
        if not _ATC_CODE.match(code):
            raise KnowledgeBaseError(f"{path}, line {line}: {code!r} is not an ATC code")
        names.setdefault(code, name)
        if len(code) == ATC_LEVEL5_LENGTH:
            by_name.setdefault(normalize(name), {})[code] = None
            by_stripped.setdefault(_loose(name), {})[code] = None
    if not names:
        raise KnowledgeBaseError(f"{path}: no ATC codes (only a header)")
    index = AtcIndex(
        path,
        _digest(data),
        names,
        {name: tuple(codes) for name, codes in by_name.items()},
        {name: tuple(codes) for name, codes in by_stripped.items()},
    )
    log.info("read ATC index %s: %d codes, %d substance names", path, len(names), len(by_name))
    return index


# --- our curated classes as ATC code prefixes --------------------------------------------------


@dataclass(frozen=True)
class ClassAtc:
    """Curated class -> ATC code prefixes, so DDInter drugs can join curated classes."""

    digest: str
    prefixes: Mapping[str, tuple[str, ...]]

    def classes_of(self, codes: Iterable[str]) -> tuple[str, ...]:
        """The classes whose prefixes one of the codes starts with."""
        codes = tuple(codes)
        return tuple(
            name
            for name, prefixes in self.prefixes.items()
            if any(code.startswith(prefix) for code in codes for prefix in prefixes)
        )


def load_class_atc(path: str | Path = CLASS_ATC_PATH) -> ClassAtc:
    """Read `class,atc_prefixes,note` (prefixes `;`-separated); refuses malformed codes."""
    path = Path(path)
    data, text = read_text(path)
    columns, body = rows(path, text, ("class", "atc_prefixes"))
    prefixes: dict[str, tuple[str, ...]] = {}
    for line, fields in body:
        name = fields[columns["class"]].lower()
        codes = tuple(p.strip().upper() for p in fields[columns["atc_prefixes"]].split(";"))
        codes = tuple(code for code in codes if code)
        bad = [code for code in codes if not _ATC_CODE.match(code)]
        if not name or not codes or bad:
            problem = f"{', '.join(bad)} not ATC code(s)" if bad else "empty class or prefixes"
            raise KnowledgeBaseError(f"{path}, line {line}: {problem}")
        if name in prefixes:
            raise KnowledgeBaseError(f"{path}, line {line}: class {name!r} listed twice")
        prefixes[name] = codes
    return ClassAtc(_digest(data), prefixes)


@dataclass(frozen=True)
class Sources:
    """The optional run-time files beside the interaction data: names, ATC codes, classes."""

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
        """Digests of the files used, for the knowledge base's content hash."""
        parts = []
        if self.vocabulary is not None:
            parts.append(("vocabulary", self.vocabulary.digest.encode()))
        if self.atc is not None:
            parts.append(("atc", self.atc.digest.encode()))
            parts.append(("class_atc", self.class_atc.digest.encode()))
        return parts

    def unknown_hint(self) -> str:
        """Appended to UnknownDrugError: why a common name may not resolve."""
        if self.vocabulary is not None:
            return ""
        return (
            " (no DrugBank vocabulary loaded, kb.vocabulary: only the sources' own names "
            "resolve, so brand names and synonyms such as 'aspirin' are unknown)"
        )


# --- aliases -----------------------------------------------------------------------------------


class AliasIndex:
    """Names to drug ids in tiers of trust: canonical names, source names, synonyms.

    A name already claimed at a stronger (lower) tier is kept; two drugs claiming one name at
    the same tier make it ambiguous, and it is dropped rather than guessed.
    """

    def __init__(self) -> None:
        self._claims: dict[str, tuple[int, int]] = {}  # name -> (tier, drug id or -1)
        self.ambiguous: set[str] = set()

    def claim(self, name: str, drug_id: int, tier: int) -> None:
        key = normalize(name)
        if not key:
            return
        current = self._claims.get(key)
        if current is None or tier < current[0]:
            self._claims[key] = (tier, drug_id)
        elif tier == current[0] and current[1] not in (drug_id, -1):
            self._claims[key] = (tier, -1)
            self.ambiguous.add(key)

    def claim_all(self, names: Iterable[str], drug_id: int, tier: int) -> None:
        for name in names:
            self.claim(name, drug_id, tier)

    def owner(self, name: str) -> int | None:
        found = self._claims.get(normalize(name))
        return None if found is None or found[1] < 0 else found[1]

    def result(self) -> dict[str, int]:
        return {name: owner for name, (_, owner) in self._claims.items() if owner >= 0}


# --- linking a knowledge base's drugs to the vocabularies --------------------------------------


def link_names(
    strong: Sequence[Sequence[str]],
    source: Sequence[Sequence[str]],
    concept_groups: Sequence[Sequence[Sequence[str]]],
    vocabulary: DrugVocabulary | None,
    report: LoadReport,
) -> tuple[dict[str, int], list[tuple[str, ...]]]:
    """Aliases of every drug, and per drug the DrugBank names found for it.

    Tiers: `strong` names (canonical and curated synonyms), then `source` names (as the
    interaction files write them), then DrugBank common names, then DrugBank synonyms.
    Each group of `concept_groups[drug]` names at most one DrugBank drug.
    """
    aliases = AliasIndex()
    for drug, names in enumerate(strong):
        aliases.claim_all(names, drug, 0)
    for drug, names in enumerate(source):
        aliases.claim_all(names, drug, 1)
    drugbank_names: list[tuple[str, ...]] = [() for _ in strong]
    if vocabulary is None:
        report.note(
            "no DrugBank vocabulary (kb.vocabulary unset): names resolve through normalization "
            "and the sources' own names only, so brand names and synonyms (e.g. 'aspirin' for "
            "DDInter's 'Acetylsalicylic acid') are unknown"
        )
        report.add("names", {"aliases": len(aliases.result())})
        return aliases.result(), drugbank_names

    unresolved: list[str] = []
    for drug, groups in enumerate(concept_groups):
        rows_found = {row for group in groups if (row := vocabulary.concept(group)) is not None}
        names = [name for row in sorted(rows_found) for name in vocabulary.names[row]]
        drugbank_names[drug] = tuple(dict.fromkeys(names))
        aliases.claim_all((vocabulary.names[row][0] for row in rows_found), drug, 2)
        if not rows_found:
            unresolved.append(strong[drug][0])
    for drug, names in enumerate(drugbank_names):
        aliases.claim_all(names, drug, 3)
    result = aliases.result()
    report.add(
        "names",
        {
            "drugbank drugs": len(vocabulary),
            "drugs found in DrugBank": len(strong) - len(unresolved),
            "drugs not found": len(unresolved),
            "aliases": len(result),
            "ambiguous names dropped": len(aliases.ambiguous),
        },
    )
    report.missing("names (not in the DrugBank vocabulary)", unresolved)
    return result, drugbank_names


def link_atc(
    own_names: Sequence[Sequence[str]],
    drugbank_names: Sequence[Sequence[str]],
    atc: AtcIndex | None,
    report: LoadReport,
) -> tuple[tuple[str, ...], ...]:
    """ATC codes of every drug: by its own names, else DrugBank's, else without salt words."""
    if atc is None:
        report.note(
            "no ATC index (kb.atc unset): drugs get no ATC codes, and DDInter drugs join no "
            "curated class"
        )
        return ((),) * len(own_names)
    codes: list[tuple[str, ...]] = []
    tiers = {"by name": 0, "by DrugBank synonym": 0, "by name without salt or brackets": 0}
    unresolved: list[str] = []
    for names, synonyms in zip(own_names, drugbank_names, strict=True):
        found = atc.codes(names)
        tier = "by name"
        if not found and synonyms:
            found, tier = atc.codes(synonyms), "by DrugBank synonym"
        if not found:
            found, tier = atc.codes_loose([*names, *synonyms]), "by name without salt or brackets"
        if found:
            tiers[tier] += 1
        else:
            unresolved.append(names[0])
        codes.append(found)
    report.add("atc codes", {**tiers, "without a code": len(unresolved)})
    report.missing("ATC codes (no level-5 name matched)", unresolved)
    return tuple(codes)
