"""Patients and orders, drawn in vectorized batches, with each fact's risk precomputed.

A cohort is a set of arrays (`Patients`), one row per order. Its records come from a
`CohortSource`: `PatientGenerator` draws new records from distributions fitted to real record
structure (`cdss.env.fitted`: age, sex, conditions by age, how many and which drugs are taken
together, labs given conditions), `RecordSampler` replays given records (a Synthea export) with
their natural gaps. Either way the ordered drug is chosen so that about `order_risk_share` of
orders carry a moderate or worse risk, which training needs: uniformly drawn orders are almost
all harmless.

For every order, the risk contribution of each fact (each current drug, each condition slot,
each lab) is computed once here with the knowledge base's tables; the true risk is their max.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cdss.env.fitted import (
    AGE_BINS,
    LAB_FEATURES,
    N_BRACKETS,
    PREGNANCY_AGES,
    VITAMIN_K_ANTAGONISTS,
    GeneratorModel,
    bracket_of,
    load_model,
)
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord, Risk, UnknownDrugError

log = logging.getLogger(__name__)

MAX_DRUGS = 8
_LAB = {lab: i for i, lab in enumerate(LABS)}
_CONDITION = {condition: i for i, condition in enumerate(CONDITIONS)}
SAFE_TRIES = 8  # draws to find a harmless order when fewer risky orders are wanted


@dataclass(frozen=True, eq=False)
class Patients:
    """A batch of orders: the full records, the ordered drugs and each fact's risk level.

    An empty drug slot holds -1 (not necessarily after the others); a lab never measured is
    NaN. The `*_levels` arrays hold each fact's contribution to the risk of the order (0 for an
    empty drug slot, an absent condition or an unmeasured lab).
    """

    age: np.ndarray  # (n,) int64
    female: np.ndarray  # (n,) bool
    inpatient: np.ndarray  # (n,) bool: the order is written in hospital (inpatient, emergency)
    drugs: np.ndarray  # (n, slots) int64 drug ids, -1 = empty
    conditions: np.ndarray  # (n, len(CONDITIONS)) bool
    labs: np.ndarray  # (n, len(LABS)) float64, NaN = never measured
    order: np.ndarray  # (n,) int64 drug id
    drug_levels: np.ndarray  # (n, slots) int8
    condition_levels: np.ndarray  # (n, len(CONDITIONS)) int8
    lab_levels: np.ndarray  # (n, len(LABS)) int8
    true_risk: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.order)

    @property
    def drug_slots(self) -> np.ndarray:
        """Which drug slots hold a drug."""
        return self.drugs >= 0

    @property
    def measured_labs(self) -> np.ndarray:
        """Which labs were measured."""
        return ~np.isnan(self.labs)

    def record(self, index: int, kb: KnowledgeBase) -> PatientRecord:
        """The PatientRecord of one order (for kb.assess, explanations and the cases)."""
        drugs = tuple(kb.drugs[d] for d in self.drugs[index] if d >= 0)
        conditions = frozenset(c for c, present in zip(CONDITIONS, self.conditions[index],
                                                         strict=True) if present)  # fmt: skip
        labs = {lab: float(v) for lab, v in zip(LABS, self.labs[index], strict=True)
                if not np.isnan(v)}  # fmt: skip
        sex = "F" if self.female[index] else "M"
        return PatientRecord(int(self.age[index]), sex, drugs, conditions, labs)

    def risk_mix(self) -> np.ndarray:
        """Share of orders at each true risk level, none..contraindicated."""
        counts = np.bincount(self.true_risk, minlength=len(Risk))
        return counts / max(len(self), 1)


def row_max(levels: np.ndarray) -> np.ndarray:
    """Max over the last axis (0 when empty), reduced over a transposed copy: numpy reduces
    one long axis far faster than many short rows."""
    return np.ascontiguousarray(levels.T).max(axis=0, initial=0)


def _csr(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pointers and column ids of the True cells of a boolean matrix."""
    counts = mask.sum(axis=1)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), np.nonzero(mask)[1]


def choose_true(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """Column of a uniformly chosen True cell per row of `mask`; -1 for a row without one."""
    counts = mask.sum(axis=1)
    flat = np.flatnonzero(mask)
    if not len(flat):
        return np.full(len(mask), -1, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    pick = np.minimum(offsets + (rng.random(len(mask)) * counts).astype(np.int64), len(flat) - 1)
    return np.where(counts > 0, flat[pick] % mask.shape[1], -1)


class RiskTables:
    """The knowledge base's rules as arrays, for scoring whole batches at once.

    Levels are int8 like the KB's tables; lab rules are flattened to parallel arrays.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.n_drugs = len(kb.drugs)
        self.pair_levels = np.asarray(kb.pair_levels, dtype=np.int8)
        self.condition_levels = np.asarray(kb.condition_levels, dtype=np.int8)
        rules = [(d, rule) for d, drug_rules in enumerate(kb.lab_rules) for rule in drug_rules]
        self.rule_drug = np.array([d for d, _ in rules], dtype=np.int64)
        self.rule_lab = np.array([_LAB[r.lab] for _, r in rules], dtype=np.int64)
        self.rule_level = np.array([int(r.level) for _, r in rules], dtype=np.int8)
        # Rules share few distinct tests (qtc > 500, egfr < 30, ...): evaluate each test once.
        tests = sorted({(_LAB[r.lab], r.op, float(r.threshold)) for _, r in rules})
        test_index = {test: i for i, test in enumerate(tests)}
        self.rule_test = np.array(
            [test_index[(_LAB[r.lab], r.op, float(r.threshold))] for _, r in rules], dtype=np.int64
        )
        self.test_lab = np.array([lab for lab, _, _ in tests], dtype=np.int64)
        self.test_below = np.array([op == "<" for _, op, _ in tests], dtype=bool)
        self.test_threshold = np.array([threshold for _, _, threshold in tests], dtype=np.float64)
        # Each drug's rules, padded with a sentinel rule (index n_rules) that never fires.
        n_rules = len(rules)
        per_drug = [np.flatnonzero(self.rule_drug == d) for d in range(self.n_drugs)]
        width = max(1, *(len(found) for found in per_drug))
        self.drug_rules = np.full((self.n_drugs, width), n_rules, dtype=np.int64)
        for d, found in enumerate(per_drug):
            self.drug_rules[d, : len(found)] = found
        self._rule_lab_ext = np.append(self.rule_lab, 0)
        self._rule_test_ext = np.append(self.rule_test, len(tests))
        self._rule_level_ext = np.append(self.rule_level, np.int8(0))
        self.lab_relevant = np.zeros((self.n_drugs, len(LABS)), dtype=bool)
        self.lab_relevant[self.rule_drug, self.rule_lab] = True
        self.condition_relevant = self.condition_levels > 0
        self.severe_counts = np.asarray(kb.severe_counts, dtype=np.int64)
        # A row and column of zeros at index n_drugs stand for an empty drug slot.
        self.padded_pairs = np.zeros((self.n_drugs + 1, self.n_drugs + 1), dtype=np.int8)
        self.padded_pairs[: self.n_drugs, : self.n_drugs] = self.pair_levels
        # Drugs at moderate or worse with each drug / each condition, to draw risky orders.
        self.partner_ptr, self.partner_ids = _csr(self.pair_levels >= Risk.MODERATE)
        self.contra_ptr, self.contra_ids = _csr(self.condition_levels.T >= Risk.MODERATE)
        self.partner_counts = np.append(np.diff(self.partner_ptr), 0)  # 0 for an empty slot
        self.contra_counts = np.diff(self.contra_ptr)
        risky_rule = np.zeros((len(self.test_lab), self.n_drugs), dtype=bool)
        serious = self.rule_level >= Risk.MODERATE
        risky_rule[self.rule_test[serious], self.rule_drug[serious]] = True
        self.test_ptr, self.test_ids = _csr(risky_rule)
        self.test_counts = np.diff(self.test_ptr)

    def test_hits(self, labs: np.ndarray) -> np.ndarray:
        """(n, n_tests + 1) bool: which distinct lab tests each patient's values pass.

        The last column is the sentinel's, always False; an unmeasured (NaN) lab passes none.
        """
        values = labs[:, self.test_lab]
        with np.errstate(invalid="ignore"):
            hit = np.where(
                self.test_below, values < self.test_threshold, values > self.test_threshold
            )
        return np.hstack([hit, np.zeros((len(labs), 1), dtype=bool)])

    def rule_hits(self, labs: np.ndarray) -> np.ndarray:
        """(n, n_rules) int8: each rule's level where the patient's lab lies beyond it, else 0."""
        return np.where(self.test_hits(labs)[:, self.rule_test], self.rule_level, np.int8(0))

    def fact_levels(
        self, drugs: np.ndarray, conditions: np.ndarray, labs: np.ndarray, order: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each fact's risk contribution to the order (int8), and the true risk (their max)."""
        n = len(order)
        slots = np.where(drugs >= 0, drugs, self.n_drugs)
        drug_levels = self.padded_pairs[order[:, None], slots]
        condition_levels = self.condition_levels[order] * conditions

        rules = self.drug_rules[order]  # (n, width) the order's rules, sentinel-padded
        passed = np.take_along_axis(self.test_hits(labs), self._rule_test_ext[rules], axis=1)
        levels = np.where(passed, self._rule_level_ext[rules], np.int8(0))
        lab_of_rule = self._rule_lab_ext[rules]
        lab_levels = np.zeros(labs.shape, dtype=np.int8)
        rows = np.arange(n)
        for k in range(rules.shape[1]):  # rows are distinct within a column: safe to assign
            current = lab_levels[rows, lab_of_rule[:, k]]
            lab_levels[rows, lab_of_rule[:, k]] = np.maximum(current, levels[:, k])
        true_risk = np.maximum.reduce(
            [row_max(drug_levels), row_max(condition_levels), row_max(lab_levels)]
        )
        return drug_levels, condition_levels, lab_levels, true_risk.astype(np.int64)

    def patients(
        self,
        age: np.ndarray,
        female: np.ndarray,
        inpatient: np.ndarray,
        drugs: np.ndarray,
        conditions: np.ndarray,
        labs: np.ndarray,
        order: np.ndarray,
    ) -> Patients:
        """Assemble a `Patients` batch, scoring every fact against its order."""
        drug_levels, condition_levels, lab_levels, true_risk = self.fact_levels(
            drugs, conditions, labs, order
        )
        return Patients(
            age=age.astype(np.int64, copy=False),
            female=female.astype(bool, copy=False),
            inpatient=inpatient.astype(bool, copy=False),
            drugs=drugs.astype(np.int64, copy=False),
            conditions=conditions.astype(bool, copy=False),
            labs=labs.astype(np.float64, copy=False),
            order=order.astype(np.int64, copy=False),
            drug_levels=drug_levels,
            condition_levels=condition_levels,
            lab_levels=lab_levels,
            true_risk=true_risk,
        )


def concatenate(parts: Sequence[Patients]) -> Patients:
    """One batch from several with the same number of drug slots."""
    fields = Patients.__dataclass_fields__
    return Patients(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def record_arrays(
    kb: KnowledgeBase, records: Sequence[PatientRecord], width: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Age, female, drug ids (padded with -1 to `width`), conditions and labs (NaN when never
    measured) of records; unknown drugs or keys raise, never pass silently."""
    drug_ids = [[kb.drug_id(name) for name in record.drugs] for record in records]
    width = max([1, *(len(ids) for ids in drug_ids)]) if width is None else width
    drugs = np.full((len(records), width), -1, dtype=np.int64)
    conditions = np.zeros((len(records), len(CONDITIONS)), dtype=bool)
    labs = np.full((len(records), len(LABS)), np.nan)
    for row, (record, ids) in enumerate(zip(records, drug_ids, strict=True)):
        unknown = (set(record.conditions) - set(CONDITIONS)) | (set(record.labs) - set(LABS))
        if unknown:
            raise ValueError(f"keys not among CONDITIONS or LABS: {sorted(unknown)}")
        if len(ids) > width:
            raise ValueError(f"a record holds {len(ids)} drugs, more than {width} slots")
        drugs[row, : len(ids)] = ids
        conditions[row] = [c in record.conditions for c in CONDITIONS]
        labs[row] = [record.labs.get(lab, np.nan) for lab in LABS]
    age = np.array([record.age for record in records], dtype=np.int64)
    female = np.array([record.sex.upper().startswith("F") for record in records], dtype=bool)
    return age, female, drugs, conditions, labs


def patients_from_record(
    kb: KnowledgeBase,
    tables: RiskTables,
    record: PatientRecord,
    order: str,
    inpatient: bool = False,
) -> Patients:
    """A one-order batch from a given record; unknown drugs or keys raise, never pass silently."""
    age, female, drugs, conditions, labs = record_arrays(kb, [record], width=len(record.drugs))
    return tables.patients(
        age=age,
        female=female,
        inpatient=np.array([inpatient]),
        drugs=drugs,
        conditions=conditions,
        labs=labs,
        order=np.array([kb.drug_id(order)]),
    )


class Categorical:
    """Draws from several categorical distributions at once, one uniform per draw.

    Row r's outcomes are `ids[ptr[r]:ptr[r + 1]]`, laid out as Walker alias tables: a uniform
    u picks cell j = floor(u K) of the row's K cells, and its fractional part u K - j keeps
    the cell's own outcome (below `keep[j]`) or takes the cell's alias. Constant time per draw
    whatever the row's size, where a binary search over the cumulative weights costs several
    times more for a few thousand draws.
    """

    def __init__(self, rows: Sequence[Mapping[int, float]]) -> None:
        ids: list[int] = []
        keep: list[float] = []
        alias: list[int] = []
        ptr = [0]
        for weights in rows:
            kept = [(i, float(w)) for i, w in weights.items() if w > 0]
            start = len(ids)
            row_keep, row_alias = _alias_table([w for _, w in kept])
            ids.extend(i for i, _ in kept)
            keep.extend(row_keep)
            alias.extend(start + j for j in row_alias)
            ptr.append(len(ids))
        self.ids = np.array(ids, dtype=np.int64)
        self.keep = np.array(keep, dtype=np.float64)
        self.alias = np.array(alias, dtype=np.int64)
        self.ptr = np.array(ptr, dtype=np.int64)
        self.sizes = np.diff(self.ptr)

    def draw(self, u: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """One outcome per uniform `u` from the given rows (row 0 when None); rows must not
        be empty."""
        if rows is None:
            scaled = u * self.sizes[0]
            cell = np.minimum(scaled.astype(np.int64), self.sizes[0] - 1)
        else:
            scaled = u * self.sizes[rows]
            cell = np.minimum(scaled.astype(np.int64), self.sizes[rows] - 1)
            scaled += self.ptr[rows]  # so that scaled - cell stays the fractional part
            cell += self.ptr[rows]
        chosen = np.where(scaled - cell < self.keep[cell], cell, self.alias[cell])
        return self.ids[chosen]


def _alias_table(weights: Sequence[float]) -> tuple[list[float], list[int]]:
    """Vose's alias table of a distribution: per cell, the chance to keep it and its alias."""
    k = len(weights)
    total = sum(weights)
    scaled = [w * k / total for w in weights] if k else []
    keep, alias = [1.0] * k, list(range(k))
    small = [j for j, w in enumerate(scaled) if w < 1]
    large = [j for j, w in enumerate(scaled) if w >= 1]
    while small and large:
        j, big = small.pop(), large[-1]
        keep[j], alias[j] = scaled[j], big
        scaled[big] -= 1 - scaled[j]
        if scaled[big] < 1:
            small.append(large.pop())
    return keep, alias


class CohortSource:
    """Records and orders for a batch: subclasses say where the records come from.

    Subclasses set `kb`, `tables`, `order_risk_share` and implement `_records`; then call
    `_setup_orders()` once to calibrate the order mix on their own records.
    """

    kb: KnowledgeBase
    tables: RiskTables
    order_risk_share: float

    def _records(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Age, female, inpatient, drug ids (-1 empty), conditions, labs (NaN unmeasured)."""
        raise NotImplementedError

    def _setup_orders(self) -> None:
        """The prior of ordered drugs (the KB's drug weights) and the calibrated order mix."""
        if not 0 <= self.order_risk_share <= 1:
            raise ValueError(f"order_risk_share must lie in [0, 1], got {self.order_risk_share}")
        weights = getattr(self.kb, "drug_weights", None)
        if weights is None or len(weights) != self.tables.n_drugs:
            weights = np.full(self.tables.n_drugs, 1.0 / self.tables.n_drugs)
        self.order_prior = Categorical([dict(enumerate(np.asarray(weights, dtype=float)))])
        self.add_risky, self.drop_risky = self._calibrate()

    # --- the order ----------------------------------------------------------------------

    def _orders(
        self, rng: np.random.Generator, drugs: np.ndarray, conditions: np.ndarray, labs: np.ndarray
    ) -> np.ndarray:
        """One new drug per patient: about `order_risk_share` of them moderate or worse.

        Every patient first gets a drug it does not take, drawn by the KB's `drug_weights`
        (uniform for the curated KB). Above the share of risky such orders (the usual case),
        each is replaced with probability `add_risky`
        by a risky one: from a uniformly chosen source of risk in the record (a current drug
        with moderate-or-worse partners, a present condition that contraindicates some drug,
        a lab beyond a rule's threshold), a drug that source makes risky. Below it, risky
        orders are redrawn with probability `drop_risky` until harmless (up to `SAFE_TRIES`
        draws). Both probabilities are calibrated once per source and knowledge base.
        """
        order = self._uniform_orders(rng, drugs)
        if self.drop_risky > 0:
            return self._fewer_risky(rng, drugs, conditions, labs, order)
        rows = np.flatnonzero(rng.random(len(drugs)) < self.add_risky)
        risky = self._risky_orders(rng, drugs[rows], conditions[rows], labs[rows])
        found = risky >= 0  # a record with no source of risk keeps its drawn order
        order[rows[found]] = risky[found]
        return order

    def _fewer_risky(
        self,
        rng: np.random.Generator,
        drugs: np.ndarray,
        conditions: np.ndarray,
        labs: np.ndarray,
        order: np.ndarray,
    ) -> np.ndarray:
        """Redraw a `drop_risky` share of the risky orders among harmless ones."""
        risky = self.tables.fact_levels(drugs, conditions, labs, order)[3] >= Risk.MODERATE
        redraw = np.flatnonzero(risky & (rng.random(len(order)) < self.drop_risky))
        for _ in range(SAFE_TRIES):
            if not len(redraw):
                break
            held = drugs[redraw]
            candidate = self._uniform_orders(rng, held)
            levels = self.tables.fact_levels(held, conditions[redraw], labs[redraw], candidate)
            harmless = levels[3] < Risk.MODERATE
            order[redraw[harmless]] = candidate[harmless]
            redraw = redraw[~harmless]
        return order

    def _calibrate(self, size: int = 8192, seed: int = 0) -> tuple[float, float]:
        """`add_risky` and `drop_risky`: the probabilities that bring the share of risky
        orders to `order_risk_share` (at most one of them is above 0).

        The share is linear in each: the uniform orders already risky, plus the harmless ones
        replaced, or minus the risky ones redrawn. Estimated on a sample from a fixed seed of
        its own, so it takes no randomness from the caller.
        """
        rng = np.random.default_rng(seed)
        _, _, _, drugs, conditions, labs = self._records(rng, size)
        order = self._uniform_orders(rng, drugs)
        risky_already = self.tables.fact_levels(drugs, conditions, labs, order)[3] >= Risk.MODERATE
        base = risky_already.mean()
        if self.order_risk_share < base:
            return 0.0, float((base - self.order_risk_share) / base)
        replaceable = (self._risky_orders(rng, drugs, conditions, labs) >= 0) & ~risky_already
        gain = replaceable.mean()
        if gain == 0:
            return 0.0, 0.0
        return float(min((self.order_risk_share - base) / gain, 1.0)), 0.0

    def _uniform_orders(self, rng: np.random.Generator, drugs: np.ndarray) -> np.ndarray:
        """A drug per patient by the KB's drug weights, among those it does not take."""
        order = self.order_prior.draw(rng.random(len(drugs)))
        held = (order[:, None] == drugs).any(axis=1)
        attempt = 0
        while held.any():
            # A prior heaped on drugs the patient takes could redraw them for ever: after a few
            # weighted rounds, draw uniformly (a patient takes few of the KB's drugs).
            if attempt < SAFE_TRIES:
                order[held] = self.order_prior.draw(rng.random(int(held.sum())))
            else:
                order[held] = rng.integers(0, self.tables.n_drugs, size=int(held.sum()))
            held[held] = (order[held, None] == drugs[held]).any(axis=1)
            attempt += 1
        return order

    def _risky_orders(
        self, rng: np.random.Generator, drugs: np.ndarray, conditions: np.ndarray, labs: np.ndarray
    ) -> np.ndarray:
        """A drug made moderate-or-worse by one fact of the record (-1 if no fact can)."""
        n = len(drugs)
        tables = self.tables
        slots = np.where(drugs >= 0, drugs, tables.n_drugs)
        partners = tables.partner_counts[slots]
        passed = tables.test_hits(labs)[:, :-1] & (tables.test_counts > 0)
        sources = np.hstack([partners > 0, conditions & (tables.contra_counts > 0), passed])
        source = choose_true(rng, sources)
        draw = rng.random(n)
        risky = np.full(n, -1, dtype=np.int64)

        def pick(ptr: np.ndarray, ids: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> None:
            offset = (draw[rows] * counts).astype(np.int64)
            risky[rows] = ids[ptr + offset]

        n_slots, n_conditions = drugs.shape[1], conditions.shape[1]
        rows = np.flatnonzero((source >= 0) & (source < n_slots))
        slot = source[rows]
        pick(tables.partner_ptr[slots[rows, slot]], tables.partner_ids, rows, partners[rows, slot])
        rows = np.flatnonzero((source >= n_slots) & (source < n_slots + n_conditions))
        condition = source[rows] - n_slots
        pick(tables.contra_ptr[condition], tables.contra_ids, rows, tables.contra_counts[condition])
        rows = np.flatnonzero(source >= n_slots + n_conditions)
        test = source[rows] - n_slots - n_conditions
        pick(tables.test_ptr[test], tables.test_ids, rows, tables.test_counts[test])
        risky[(risky[:, None] == drugs).any(axis=1)] = -1  # never re-order a current drug
        return risky

    def sample(self, rng: np.random.Generator, size: int) -> Patients:
        """`size` orders drawn from `rng`; the same generator state gives the same cohort."""
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        age, female, inpatient, drugs, conditions, labs = self._records(rng, size)
        order = self._orders(rng, drugs, conditions, labs)
        return self.tables.patients(age, female, inpatient, drugs, conditions, labs, order)


class RecordSampler(CohortSource):
    """Orders for given records (a Synthea export): each order picks a record uniformly.

    The records keep their natural gaps: a lab never measured stays NaN, never imputed. An
    order is written in hospital with the patient's own share of hospital encounters.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        records: Sequence[PatientRecord],
        hospital_share: Sequence[float] | np.ndarray | None = None,
        order_risk_share: float = 0.5,
    ) -> None:
        if not records:
            raise ValueError("a record cohort needs at least one record")
        self.kb = kb
        self.tables = RiskTables(kb)
        self.order_risk_share = float(order_risk_share)
        self.records = tuple(records)
        self.age, self.female, self.drugs, self.conditions, self.labs = record_arrays(kb, records)
        share = np.zeros(len(records)) if hospital_share is None else hospital_share
        self.hospital_share = np.asarray(share, dtype=np.float64)
        if self.hospital_share.shape != (len(records),):
            raise ValueError("hospital_share needs one value per record")
        self._setup_orders()

    def __len__(self) -> int:
        return len(self.records)

    def _records(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        pick = rng.integers(0, len(self.records), size=n)
        inpatient = rng.random(n) < self.hospital_share[pick]
        return (self.age[pick], self.female[pick], inpatient, self.drugs[pick],
                self.conditions[pick], self.labs[pick])  # fmt: skip


class PatientGenerator(CohortSource):
    """Draw new records from a fitted `GeneratorModel`, a batch at a time.

    Arguments:
        kb: the knowledge base whose drugs are prescribed and whose rules score the orders.
        max_drugs: most current drugs per patient (0 to `max_drugs`, distinct).
        order_risk_share: target share of orders at moderate risk or worse (see `_orders`).
        prevalence: per-condition prevalence overriding the model's, the same at every age.
        model: the fitted distributions (default: the shipped model, `fitted.SHIPPED_MODEL`).
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        max_drugs: int = MAX_DRUGS,
        order_risk_share: float = 0.5,
        prevalence: Mapping[str, float] | None = None,
        model: GeneratorModel | None = None,
    ) -> None:
        if not 1 <= max_drugs < len(kb.drugs):
            raise ValueError(f"max_drugs must lie in [1, {len(kb.drugs) - 1}], got {max_drugs}")
        self.kb = kb
        self.tables = RiskTables(kb)
        self.max_drugs = int(max_drugs)
        self.order_risk_share = float(order_risk_share)
        self.model = model if model is not None else load_model()
        rates = {c: tuple(self.model.prevalence[c]) for c in CONDITIONS}
        for key, value in (prevalence or {}).items():
            if key not in rates:
                raise ValueError(f"unknown condition {key!r} in prevalence")
            rates[key] = (float(value),) * N_BRACKETS
        self.rate_by_bracket = np.array([rates[c] for c in CONDITIONS]).T  # (brackets, C)
        self._build_drug_tables()
        self._build_lab_tables()
        self._setup_orders()

    # --- the fitted model as arrays -----------------------------------------------------

    def _ids(self, names: Mapping[str, float]) -> dict[int, float]:
        """Weights by drug id, for the names the KB knows (the others are dropped)."""
        found: dict[int, float] = {}
        for name, weight in names.items():
            try:
                drug = self.kb.drug_id(name)
            except UnknownDrugError:
                continue
            found[drug] = found.get(drug, 0.0) + float(weight)
        return found

    def _build_drug_tables(self) -> None:
        model, n_drugs = self.model, self.tables.n_drugs
        strength = model.prior_strength
        ages = model.age_bins
        self.age_low = np.array(ages[:-1], dtype=np.int64)
        self.age_width = np.diff(np.array(ages, dtype=np.int64))
        self.age_prior = Categorical([dict(enumerate(model.age_probs))])
        self.count_prior = Categorical(
            [dict(enumerate(_truncated(pmf, self.max_drugs))) for pmf in model.drug_count]
        )
        prior = getattr(self.kb, "drug_weights", None)
        if prior is None or len(prior) != n_drugs:
            prior = np.full(n_drugs, 1.0 / n_drugs)
        marginal = np.asarray(prior, dtype=np.float64) * strength["drugs"]
        for drug, count in self._ids(model.drug_counts).items():
            marginal[drug] += count
        marginal /= marginal.sum()
        self.marginal = Categorical([dict(enumerate(marginal))])
        companions = [self._ids(model.companion_counts.get(name, {})) for name in self.kb.drugs]
        totals = np.array([sum(c.values()) for c in companions])
        self.companion_weight = np.append(totals / (totals + strength["companions"]), 0.0)
        self.companions = Categorical(companions)
        indications = [self._ids(model.indications.get(c, {})) for c in CONDITIONS]
        self.indications = Categorical(indications)
        self.treated = np.array([model.treated.get(c, 0.0) for c in CONDITIONS])
        self.treated[self.indications.sizes == 0] = 0.0
        vka = self._ids(dict.fromkeys(VITAMIN_K_ANTAGONISTS, 1.0))
        self.is_vka = np.zeros(n_drugs + 1, dtype=bool)  # + the empty slot (-1)
        self.is_vka[list(vka)] = True

    def _build_lab_tables(self) -> None:
        labs = [self.model.labs[lab] for lab in LABS]
        self.lab_coefficients = np.array([lab.vector() for lab in labs]).T  # (features, labs)
        self.lab_sd = np.array([lab.noise_sd for lab in labs])
        self.lab_sd_vka = np.array([lab.noise_sd_vka or lab.noise_sd for lab in labs])
        self.lab_log = np.array([lab.transform == "log" for lab in labs])
        self.lab_low = np.array([lab.range[0] for lab in labs])
        self.lab_high = np.array([lab.range[1] for lab in labs])
        # LAB_FEATURES that are conditions: their columns there and in the conditions array.
        self.feature_at = [j for j, f in enumerate(LAB_FEATURES) if f in CONDITIONS]
        self.feature_conditions = [CONDITIONS.index(LAB_FEATURES[j]) for j in self.feature_at]

    # --- the record ---------------------------------------------------------------------

    def _records(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        age_bin = self.age_prior.draw(rng.random(n))
        age = self.age_low[age_bin] + (rng.random(n) * self.age_width[age_bin]).astype(np.int64)
        age = np.minimum(age, AGE_BINS[-1] - 1)
        female = rng.random(n) < self.model.female
        bracket = bracket_of(age)
        inpatient = rng.random(n) < np.asarray(self.model.hospital)[bracket]
        conditions = self._conditions(rng, age, female, bracket)
        drugs = self._drugs(rng, bracket, conditions)
        labs = self._labs(rng, age, female, drugs, conditions)
        return age, female, inpatient, drugs, conditions, labs

    def _conditions(
        self, rng: np.random.Generator, age: np.ndarray, female: np.ndarray, bracket: np.ndarray
    ) -> np.ndarray:
        """Chronic conditions at the fitted rate of the age bracket; pregnancy only in women
        aged 18-45."""
        conditions = rng.random((len(age), len(CONDITIONS))) < self.rate_by_bracket[bracket]
        low, high = PREGNANCY_AGES
        conditions[:, _CONDITION["pregnancy"]] &= female & (age >= low) & (age <= high)
        return conditions

    def _drugs(
        self, rng: np.random.Generator, bracket: np.ndarray, conditions: np.ndarray
    ) -> np.ndarray:
        """0..max_drugs distinct drugs: one for each treated condition first, then the rest.

        The count comes from the fitted distribution of the age bracket. A treated condition
        (its fitted share) contributes a drug from its indications; each further slot takes a
        drug from the marginal (fitted counts mixed with the KB's drug weights) or, with
        `companion_share` and the evidence behind the anchor, a drug seen beside the drug of a
        random earlier slot (fitted pair counts). A repeated drug leaves its later slot empty
        (-1), so empty slots need not trail.
        """
        n, width = len(bracket), self.max_drugs
        count = self.count_prior.draw(rng.random(n), bracket)
        # Slot-major (slots, n) while filling: row operations over all patients are fast.
        slots = np.full((width, n), -1, dtype=np.int64)
        patients, condition = np.nonzero(conditions)  # row-major: a patient's conditions in order
        treated = rng.random(len(patients)) < self.treated[condition]
        patients, condition = patients[treated], condition[treated]
        slot = np.arange(len(patients)) - np.searchsorted(patients, patients)
        fits = slot < width
        patients, condition, slot = patients[fits], condition[fits], slot[fits]
        slots[slot, patients] = self.indications.draw(rng.random(len(patients)), condition)
        filled = np.zeros(n, dtype=np.int64)
        filled[patients] = slot + 1
        count = np.maximum(count, filled)

        # The other slots, all at once: a marginal draw, then with `companion_share` (and the
        # anchor's weight of evidence) a drug seen beside the drug of a random earlier slot.
        position = np.arange(width)[:, None]
        at, who = np.nonzero((position >= filled) & (position < count))
        slots[at, who] = self.marginal.draw(rng.random(len(at)))
        anchor = slots[(rng.random(len(at)) * at).astype(np.int64), who]
        beside = (at > 0) & (rng.random(len(at)) < self.model.companion_share)
        beside &= rng.random(len(at)) < self.companion_weight[anchor]
        slots[at[beside], who[beside]] = self.companions.draw(
            rng.random(int(beside.sum())), anchor[beside]
        )

        # A drug repeated in a later slot leaves that slot empty.
        earlier = np.tril(np.ones((width, width), dtype=bool), k=-1)[:, :, None]
        repeated = ((slots[:, None, :] == slots[None, :, :]) & earlier).any(axis=1)
        slots[repeated] = -1
        return np.ascontiguousarray(slots.T)

    def _labs(
        self,
        rng: np.random.Generator,
        age: np.ndarray,
        female: np.ndarray,
        drugs: np.ndarray,
        conditions: np.ndarray,
    ) -> np.ndarray:
        """All five labs from the fitted linear models, given age, sex, conditions and VKAs.

        Every generated lab is measured: the generated record is the full truth, and what is
        missing is left to the missingness mechanism.
        """
        n = len(age)
        vka = self.is_vka[drugs].any(axis=1)
        features = np.empty((n, len(LAB_FEATURES)))
        features[:, self.feature_at] = conditions[:, self.feature_conditions]
        features[:, LAB_FEATURES.index("intercept")] = 1.0
        features[:, LAB_FEATURES.index("age_decades")] = (age - 60) / 10
        features[:, LAB_FEATURES.index("female")] = female
        features[:, LAB_FEATURES.index("vka")] = vka
        sd = np.where(vka[:, None], self.lab_sd_vka, self.lab_sd)
        values = features @ self.lab_coefficients + sd * rng.standard_normal((n, len(LABS)))
        values[:, self.lab_log] = np.exp(values[:, self.lab_log])
        return np.round(np.clip(values, self.lab_low, self.lab_high), 1)


def _truncated(pmf: Sequence[float], most: int) -> np.ndarray:
    """A count distribution with the mass above `most` folded onto `most`."""
    probabilities = np.asarray(pmf, dtype=np.float64)
    if len(probabilities) <= most + 1:
        return probabilities
    return np.append(probabilities[:most], probabilities[most:].sum())
