"""The knowledge base: dense integer tables for fast lookups, plus the reasons behind them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from cdss.knowledge.model import (
    CONDITION_INDEX,
    CONDITIONS,
    LABS,
    Assessment,
    LabRule,
    PatientRecord,
    Reason,
    Risk,
    UnknownDrugError,
)
from cdss.knowledge.names import candidates, split_combination
from cdss.knowledge.report import LoadReport

PairKey = tuple[int, int]

# Bits of `pair_sources`: which source's entries decide a pair (both: the worst of the two).
CURATED = 1
DDINTER = 2
SOURCE_NAMES: dict[int, str] = {CURATED: "curated", DDINTER: "ddinter"}


class PairEvidence(Protocol):
    """Pair levels from a large external source, whose reasons are built only when asked.

    DDInter has 160,000 pairs: one Reason object per pair and direction would cost more
    memory than every table of the knowledge base together.
    """

    def has(self, first: int, second: int) -> bool:
        """True when the source lists the pair."""
        ...

    def reasons(self, first: int, second: int, partner: str) -> tuple[Reason, ...]:
        """The source's reason(s) for the pair, with `partner` as the subject."""
        ...


class KnowledgeBase:
    """Drugs, interactions, contraindications and lab rules, indexed by integer drug id.

    The tables answer the hot path (`assess`, called once per simulated order) with integer
    look-ups; the reasons and sources are kept beside them so every alert can be explained.
    Build one with `load_curated()`, `load_kb(folder)`, `load_ddinter(path)` or
    `load_curated_ddinter(path)`; the constructor takes finished tables and trusts them.

    Beside the tables of docs/ARCHITECTURE.md: `pair_sources` (n, n) int8 bits (1 curated,
    2 DDInter) saying which source decides each pair; `evidence`, DDInter's levels whose
    reasons are built on demand; `drug_weights` (n,) a prior for drawing drugs, summing to 1;
    `atc_codes` per drug; `load_report`, the figures of the load.
    """

    def __init__(
        self,
        *,
        name: str,
        drugs: tuple[str, ...],
        aliases: Mapping[str, int],
        classes: Mapping[str, tuple[str, ...]],
        pair_levels: np.ndarray,
        pair_reasons: Mapping[PairKey, tuple[Reason, ...]],
        condition_levels: np.ndarray,
        condition_reasons: Mapping[PairKey, tuple[Reason, ...]],
        lab_rules: tuple[tuple[LabRule, ...], ...],
        content_hash: str,
        entry_counts: Mapping[str, int] | None = None,
        pair_sources: np.ndarray | None = None,
        evidence: PairEvidence | None = None,
        drug_weights: np.ndarray | None = None,
        atc_codes: tuple[tuple[str, ...], ...] | None = None,
        load_report: LoadReport | None = None,
        unknown_hint: str = "",
    ) -> None:
        n = len(drugs)
        if pair_levels.shape != (n, n) or condition_levels.shape != (n, len(CONDITIONS)):
            raise ValueError("table shapes do not match the number of drugs")
        if len(lab_rules) != n:
            raise ValueError("lab_rules needs one tuple per drug")
        if pair_sources is None:
            pair_sources = np.zeros((n, n), dtype=np.int8)
            for i, j in pair_reasons:
                pair_sources[i, j] = CURATED
        if pair_sources.shape != (n, n):
            raise ValueError("pair_sources must be (n, n)")
        self.name = name
        self.drugs = drugs
        self.content_hash = content_hash
        self.classes = dict(classes)
        self.entry_counts = dict(entry_counts or {})
        self.pair_levels = np.ascontiguousarray(pair_levels, dtype=np.int8)
        self.condition_levels = np.ascontiguousarray(condition_levels, dtype=np.int8)
        self.lab_rules = lab_rules
        self.severe_counts = (self.pair_levels >= Risk.MAJOR).sum(axis=1).astype(np.int64)
        self.pair_sources = np.ascontiguousarray(pair_sources, dtype=np.int8)
        self.evidence = evidence
        self.drug_weights = _weights(drug_weights, n)
        self.atc_codes = atc_codes if atc_codes is not None else ((),) * n
        self.load_report = load_report
        self.unknown_hint = unknown_hint
        self._aliases = dict(aliases)
        self._pair_reasons = dict(pair_reasons)
        self._condition_reasons = dict(condition_reasons)
        self._build_fast_path()

    def _build_fast_path(self) -> None:
        """Python lists and alert-only reason maps: indexing them beats numpy scalars."""
        tables = (self.pair_levels, self.condition_levels, self.severe_counts, self.pair_sources)
        for table in (*tables, self.drug_weights):
            table.flags.writeable = False
        # Rows as Python lists, made on first use: indexing a list beats a numpy scalar, and
        # a DDInter-sized KB would spend memory and load time on rows never ordered.
        self._pair_rows: list[list[int] | None] = [None] * len(self.drugs)
        self._condition_rows: list[list[int]] = self.condition_levels.tolist()
        self._pair_alerts: dict[PairKey, tuple[Reason, ...]] = {}  # filled on first use
        self._condition_alerts = {
            key: tuple(r for r in reasons if r.level > Risk.NONE)
            for key, reasons in self._condition_reasons.items()
        }
        self._lab_map: list[dict[str, tuple[LabRule, ...]]] = []
        self._lab_reasons: dict[LabRule, Reason] = {}
        for rules in self.lab_rules:
            by_lab: dict[str, list[LabRule]] = {}
            for rule in rules:
                by_lab.setdefault(rule.lab, []).append(rule)
                self._lab_reasons[rule] = Reason(
                    "lab",
                    rule.level,
                    rule.lab,
                    f"{rule.lab} {rule.op} {rule.threshold:g}: {rule.detail}",
                    rule.source,
                )
            self._lab_map.append({lab: tuple(found) for lab, found in by_lab.items()})
        self._id_cache: dict[str, int] = {}
        self._all_cache: dict[str, tuple[int, ...]] = {}

    def __getstate__(self) -> dict:
        """Pickle only the source tables; the fast-path views are rebuilt on load."""
        derived: tuple[str, ...] = ("_pair_rows", "_condition_rows", "_pair_alerts")
        derived += ("_condition_alerts",)
        derived += ("_lab_map", "_lab_reasons", "_id_cache", "_all_cache")
        return {k: v for k, v in self.__dict__.items() if k not in derived}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build_fast_path()

    def __repr__(self) -> str:
        return (
            f"KnowledgeBase(name={self.name!r}, drugs={len(self.drugs)}, "
            f"classes={len(self.classes)}, hash={self.content_hash[:12]})"
        )

    def __len__(self) -> int:
        return len(self.drugs)

    # --- names -------------------------------------------------------------------------

    def drug_id(self, name: str) -> int:
        """Integer id of one drug; raises UnknownDrugError rather than guess."""
        cached = self._id_cache.get(name)
        if cached is not None:
            return cached
        for option in candidates(name):
            found = self._aliases.get(option)
            if found is not None:
                self._id_cache[name] = found
                return found
        parts = self._split_known(name)
        if parts:
            names = ", ".join(self.drugs[i] for i in parts)
            raise UnknownDrugError(name, f"a combination of {names}; use resolve_all")
        detail = f"not among the {len(self.drugs)} drugs of KB {self.name!r}"
        raise UnknownDrugError(name, f"{detail}{self.unknown_hint}")

    def resolve(self, name: str) -> str:
        """Canonical name of one drug (synonyms, brands, salts and forms resolved)."""
        return self.drugs[self.drug_id(name)]

    def drug_ids_all(self, name: str) -> tuple[int, ...]:
        """Ids of every ingredient of a single or combination product."""
        cached = self._all_cache.get(name)
        if cached is not None:
            return cached
        try:
            ids: tuple[int, ...] = (self.drug_id(name),)
        except UnknownDrugError:
            ids = self._split_known(name, strict=True)
        self._all_cache[name] = ids
        return ids

    def resolve_all(self, name: str) -> tuple[str, ...]:
        """Canonical ingredient names of a product ("budesonide-formoterol inhaler")."""
        return tuple(self.drugs[i] for i in self.drug_ids_all(name))

    def _split_known(self, name: str, strict: bool = False) -> tuple[int, ...]:
        """Ingredient ids of a combination name; empty (or an error if strict) otherwise."""
        parts = split_combination(name)
        if len(parts) < 2:
            if strict:
                detail = f"not among the {len(self.drugs)} drugs of KB {self.name!r}"
                raise UnknownDrugError(name, f"{detail}{self.unknown_hint}")
            return ()
        ids: list[int] = []
        for part in parts:
            found = next((self._aliases[o] for o in candidates(part) if o in self._aliases), None)
            if found is None:
                if strict:
                    detail = f"ingredient {part!r} is not in KB {self.name!r}"
                    raise UnknownDrugError(name, f"{detail}{self.unknown_hint}")
                return ()
            if found not in ids:
                ids.append(found)
        return tuple(ids)

    def members(self, drug_class: str) -> tuple[str, ...]:
        """Canonical drugs of a class ("nsaid", "qt_known_risk", ...)."""
        return self.classes[drug_class.removeprefix("class:")]

    # --- look-ups ----------------------------------------------------------------------

    def pair_level(self, first: str, second: str) -> Risk:
        """Worst interaction or duplicate-therapy level between two drugs."""
        return Risk(int(self.pair_levels[self.drug_id(first), self.drug_id(second)]))

    def pair_reasons(self, first: str, second: str) -> tuple[Reason, ...]:
        """Every entry deciding a pair, worst first, including ones deliberately judged `none`."""
        return self._deciding(self.drug_id(first), self.drug_id(second))

    def overridden_reasons(self, first: str, second: str) -> tuple[Reason, ...]:
        """Evidence for a pair that does not decide it (a curated entry speaks instead)."""
        i, j = self.drug_id(first), self.drug_id(second)
        if self.evidence is None or self.pair_sources[i, j] & DDINTER:
            return ()
        return self.evidence.reasons(i, j, self.drugs[j]) if self.evidence.has(i, j) else ()

    def pair_source(self, first: str, second: str) -> tuple[str, ...]:
        """Which sources decide the pair: ("curated",), ("ddinter",), both, or () for none."""
        bits = int(self.pair_sources[self.drug_id(first), self.drug_id(second)])
        return tuple(name for bit, name in SOURCE_NAMES.items() if bits & bit)

    def _deciding(self, first: int, second: int) -> tuple[Reason, ...]:
        bits = int(self.pair_sources[first, second])
        found = list(self._pair_reasons.get((first, second), ())) if bits & CURATED else []
        if bits & DDINTER and self.evidence is not None:
            found.extend(self.evidence.reasons(first, second, self.drugs[second]))
        found.sort(key=lambda reason: -reason.level)
        return tuple(found)

    def _alerts(self, first: int, second: int) -> tuple[Reason, ...]:
        """The deciding reasons above `none`, built once per pair and direction."""
        found = tuple(r for r in self._deciding(first, second) if r.level > Risk.NONE)
        self._pair_alerts[(first, second)] = found
        return found

    def lab_level(self, drug_id: int, lab: str, value: float) -> int:
        """Worst level of the drug's rules on this lab for a measured value (0 if none)."""
        level = 0
        for rule in self._lab_map[drug_id].get(lab, ()):
            if rule.level > level and rule.matches(value):
                level = int(rule.level)
        return level

    def relevant_labs(self, drug_id: int) -> tuple[str, ...]:
        """Labs that some rule of this drug reads, in LABS order."""
        return tuple(lab for lab in LABS if lab in self._lab_map[drug_id])

    def relevant_conditions(self, drug_id: int) -> tuple[str, ...]:
        """Conditions that raise the risk of this drug, in CONDITIONS order."""
        row = self._condition_rows[drug_id]
        return tuple(c for c, level in zip(CONDITIONS, row, strict=True) if level > 0)

    def summary(self) -> dict[str, int]:
        """Counts for load reports: drugs, classes, entries, expanded pairs per level, rules."""
        counts = {"drugs": len(self.drugs), "classes": len(self.classes)}
        counts.update(self.entry_counts)
        judged = np.triu(self.pair_sources != 0, 1)
        per_level = np.bincount(self.pair_levels[judged], minlength=len(Risk))
        for level in Risk:
            counts[f"pairs.{level.name.lower()}"] = int(per_level[level])
        counts["condition_rules"] = len(self._condition_reasons)
        counts["lab_rules"] = sum(len(rules) for rules in self.lab_rules)
        return counts

    # --- the decision-relevant question --------------------------------------------------

    def assess(self, record: PatientRecord, order: str) -> Assessment:
        """Worst risk of ordering `order` for this record, with every reason that raises it.

        The risk decomposes over single facts (each current drug, condition and lab), so
        this is also the risk known from any subset of facts when given that subset.
        """
        level = 0
        reasons: list[Reason] = []
        drug_ids = [self.drug_ids_all(name) for name in record.drugs]
        for order_id in self.drug_ids_all(order):
            pair_row = self._pair_rows[order_id]
            if pair_row is None:
                pair_row = self._pair_rows[order_id] = self.pair_levels[order_id].tolist()
            for ingredients in drug_ids:
                for partner in ingredients:
                    found = pair_row[partner]
                    if found:
                        level = max(level, found)
                        alerts = self._pair_alerts.get((order_id, partner))
                        if alerts is None:
                            alerts = self._alerts(order_id, partner)
                        reasons.extend(alerts)
            condition_row = self._condition_rows[order_id]
            for condition in record.conditions:
                found = condition_row[CONDITION_INDEX[condition]]
                if found:
                    level = max(level, found)
                    reasons.extend(self._condition_alerts[(order_id, CONDITION_INDEX[condition])])
            lab_map = self._lab_map[order_id]
            for lab, value in record.labs.items():
                for rule in lab_map.get(lab, ()):
                    if rule.matches(value):
                        level = max(level, int(rule.level))
                        reasons.append(self._lab_reasons[rule])
        reasons.sort(key=lambda reason: -reason.level)
        return Assessment(Risk(level), tuple(reasons))


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    """A drawing prior over drugs: non-negative, summing to 1 (uniform when not given)."""
    if weights is None:
        return np.full(n, 1.0 / n) if n else np.zeros(0)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("drug_weights must be n finite, non-negative numbers")
    total = weights.sum()
    if total <= 0:
        raise ValueError("drug_weights must not all be zero")
    return weights / total
