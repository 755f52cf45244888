"""Synthetic patients and orders, drawn in vectorized batches, with each fact's risk precomputed.

A cohort is a set of arrays (`Patients`), one row per order. Records are plausible rather than
epidemiological: age drives the number of drugs and the prevalence of chronic conditions,
conditions pull in the drugs that treat them (atrial fibrillation -> an anticoagulant) and
shape the labs (CKD -> low eGFR, warfarin -> raised INR, long QT -> long QTc). The ordered
drug is chosen so that about `order_risk_share` of orders carry a moderate or worse risk,
which training needs: uniformly drawn orders are almost all harmless.

For every order, the risk contribution of each fact (each current drug, each condition slot,
each lab) is computed once here with the knowledge base's tables; the true risk is their max.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord, Risk, UnknownDrugError

log = logging.getLogger(__name__)

MAX_DRUGS = 8
_LAB = {lab: i for i, lab in enumerate(LABS)}
_CONDITION = {condition: i for i, condition in enumerate(CONDITIONS)}

# Share of adults with each condition before the age factor (rough primary-care figures).
DEFAULT_PREVALENCE: dict[str, float] = {
    "ckd": 0.10,
    "asthma": 0.08,
    "copd": 0.05,
    "pregnancy": 0.08,  # among women aged 18-45 only
    "heart_failure": 0.03,
    "liver_disease": 0.03,
    "peptic_ulcer": 0.04,
    "angioedema_history": 0.01,
    "atrial_fibrillation": 0.04,
    "diabetes": 0.10,
    "hypertension": 0.25,
    "epilepsy": 0.01,
    "gout": 0.03,
    "bradycardia": 0.02,
    "long_qt_syndrome": 0.01,
}
# Conditions that grow with age; their prevalence is scaled by the age factor below.
AGE_RELATED = frozenset(
    {"ckd", "copd", "heart_failure", "atrial_fibrillation", "diabetes", "hypertension", "gout",
     "bradycardia"}
)  # fmt: skip
# Drugs a condition makes likely among the current drugs (those not in the KB are ignored).
INDICATIONS: dict[str, tuple[str, ...]] = {
    "atrial_fibrillation": ("warfarin", "apixaban", "rivaroxaban", "digoxin", "amiodarone"),
    "heart_failure": ("furosemide", "bisoprolol", "carvedilol", "spironolactone", "lisinopril"),
    "hypertension": ("lisinopril", "ramipril", "amlodipine", "losartan", "hydrochlorothiazide"),
    "diabetes": ("metformin", "gliclazide", "empagliflozin", "insulin glargine"),
    "asthma": ("salbutamol", "budesonide", "formoterol", "montelukast"),
    "copd": ("salbutamol", "tiotropium", "formoterol"),
    "epilepsy": ("carbamazepine", "valproate", "levetiracetam", "phenytoin", "lamotrigine"),
    "gout": ("allopurinol", "colchicine"),
    "peptic_ulcer": ("omeprazole", "pantoprazole"),
    "ckd": ("furosemide", "calcium carbonate"),
}
VITAMIN_K_ANTAGONISTS = ("warfarin", "acenocoumarol", "phenprocoumon")
INDICATED_SHARE = 0.8  # patients with a condition who take one of the drugs that treat it
SAFE_TRIES = 8  # draws to find a harmless order when fewer risky orders are wanted


@dataclass(frozen=True, eq=False)
class Patients:
    """A batch of orders: the full records, the ordered drugs and each fact's risk level.

    An empty drug slot holds -1 (not necessarily after the others); a lab never measured is
    NaN. The
    `*_levels` arrays hold each fact's contribution to the risk of the order (0 for an empty
    drug slot, an absent condition or an unmeasured lab).
    """

    age: np.ndarray  # (n,) int64
    female: np.ndarray  # (n,) bool
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
            age=age.astype(np.int64),
            female=female.astype(bool),
            drugs=drugs.astype(np.int64),
            conditions=conditions.astype(bool),
            labs=labs.astype(np.float64),
            order=order.astype(np.int64),
            drug_levels=drug_levels,
            condition_levels=condition_levels,
            lab_levels=lab_levels,
            true_risk=true_risk,
        )


def concatenate(parts: Sequence[Patients]) -> Patients:
    """One batch from several with the same number of drug slots."""
    fields = Patients.__dataclass_fields__
    return Patients(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def patients_from_record(
    kb: KnowledgeBase, tables: RiskTables, record: PatientRecord, order: str
) -> Patients:
    """A one-order batch from a given record; unknown drugs or keys raise, never pass silently."""
    drug_ids = [kb.drug_id(name) for name in record.drugs]
    unknown_conditions = set(record.conditions) - set(CONDITIONS)
    if unknown_conditions:
        raise ValueError(f"conditions not among CONDITIONS: {sorted(unknown_conditions)}")
    unknown_labs = set(record.labs) - set(LABS)
    if unknown_labs:
        raise ValueError(f"labs not among LABS: {sorted(unknown_labs)}")
    drugs = np.array([drug_ids], dtype=np.int64).reshape(1, len(drug_ids))
    conditions = np.array([[c in record.conditions for c in CONDITIONS]], dtype=bool)
    labs = np.array([[record.labs.get(lab, np.nan) for lab in LABS]], dtype=np.float64)
    return tables.patients(
        age=np.array([record.age]),
        female=np.array([record.sex.upper().startswith("F")]),
        drugs=drugs,
        conditions=conditions,
        labs=labs,
        order=np.array([kb.drug_id(order)]),
    )


class PatientGenerator:
    """Draw cohorts of orders from a numpy Generator, a batch at a time.

    Arguments:
        kb: the knowledge base whose drugs are prescribed and whose rules score the orders.
        max_drugs: most current drugs per patient (0 to `max_drugs`, distinct).
        order_risk_share: target share of orders at moderate risk or worse (see `_orders`).
        prevalence: per-condition base prevalence, overriding `DEFAULT_PREVALENCE` by key.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        max_drugs: int = MAX_DRUGS,
        order_risk_share: float = 0.5,
        prevalence: Mapping[str, float] | None = None,
    ) -> None:
        if not 0 <= order_risk_share <= 1:
            raise ValueError(f"order_risk_share must lie in [0, 1], got {order_risk_share}")
        if not 1 <= max_drugs < len(kb.drugs):
            raise ValueError(f"max_drugs must lie in [1, {len(kb.drugs) - 1}], got {max_drugs}")
        rates = dict(DEFAULT_PREVALENCE)
        for key, value in (prevalence or {}).items():
            if key not in rates:
                raise ValueError(f"unknown condition {key!r} in prevalence")
            rates[key] = float(value)
        self.kb = kb
        self.tables = RiskTables(kb)
        self.max_drugs = int(max_drugs)
        self.order_risk_share = float(order_risk_share)
        self.prevalence = np.array([rates[c] for c in CONDITIONS], dtype=np.float64)
        self.age_related = np.array([c in AGE_RELATED for c in CONDITIONS], dtype=bool)
        self.indications, self.indication_counts = self._indication_table(kb)
        self.vka = self._ids(kb, VITAMIN_K_ANTAGONISTS)
        self.is_vka = np.zeros(len(kb.drugs) + 1, dtype=bool)  # + the empty slot (-1)
        self.is_vka[self.vka] = True
        age_factor = np.array([0.5, 1.0, 2.0])[:, None]  # under 50, 50-69, 70 and over
        rate = np.where(self.age_related, self.prevalence * age_factor, self.prevalence)
        self.rate_by_age = np.minimum(rate, 0.9)
        self.add_risky, self.drop_risky = self._calibrate()

    @staticmethod
    def _ids(kb: KnowledgeBase, names: Sequence[str]) -> np.ndarray:
        """Ids of the named drugs that the KB knows; the others are skipped."""
        ids = []
        for name in names:
            try:
                ids.append(kb.drug_id(name))
            except UnknownDrugError:
                continue
        return np.array(sorted(set(ids)), dtype=np.int64)

    def _indication_table(self, kb: KnowledgeBase) -> tuple[np.ndarray, np.ndarray]:
        """Per condition, the ids of the drugs that treat it (padded with -1) and their count."""
        ids = [self._ids(kb, INDICATIONS.get(condition, ())) for condition in CONDITIONS]
        width = max(1, *(len(found) for found in ids))
        table = np.full((len(CONDITIONS), width), -1, dtype=np.int64)
        for row, found in enumerate(ids):
            table[row, : len(found)] = found
        return table, np.array([len(found) for found in ids], dtype=np.int64)

    # --- the record ---------------------------------------------------------------------

    def _demographics(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        age = np.clip(np.rint(rng.normal(58.0, 18.0, n)), 18, 95).astype(np.int64)
        female = rng.random(n) < 0.5
        return age, female

    def _conditions(
        self, rng: np.random.Generator, age: np.ndarray, female: np.ndarray
    ) -> np.ndarray:
        """Chronic conditions, age-related ones x0.5 under 50, x1 at 50-69, x2 from 70."""
        bracket = (age >= 50).astype(np.int64) + (age >= 70)
        conditions = rng.random((len(age), len(CONDITIONS))) < self.rate_by_age[bracket]
        conditions[:, _CONDITION["pregnancy"]] &= female & (age <= 45)
        return conditions

    def _drugs(
        self, rng: np.random.Generator, age: np.ndarray, conditions: np.ndarray
    ) -> np.ndarray:
        """0..max_drugs distinct drugs, more with age, a drug for each treated condition first.

        Slots are filled with uniform draws, except that the first slots take one drug for
        each present condition with known treatments (`INDICATED_SHARE` of the time); a
        repeated drug leaves its later slot empty (-1), so empty slots need not trail.
        """
        n = len(age)
        count = np.minimum(rng.poisson(0.5 + 0.06 * (age - 18)), self.max_drugs)
        # Slot-major (slots, n) while filling: row operations over all patients are fast.
        slots = rng.integers(0, self.tables.n_drugs, size=(self.max_drugs, n))
        treated = conditions & (rng.random(conditions.shape) < INDICATED_SHARE)
        treated &= self.indication_counts > 0
        patients, condition = np.nonzero(treated)  # row-major: a patient's conditions in order
        slot = np.arange(len(patients)) - np.searchsorted(patients, patients)
        fits = slot < self.max_drugs
        patients, condition, slot = patients[fits], condition[fits], slot[fits]
        choice = (rng.random(len(patients)) * self.indication_counts[condition]).astype(np.int64)
        slots[slot, patients] = self.indications[condition, choice]
        count[patients] = np.maximum(count[patients], slot + 1)
        slots[np.arange(self.max_drugs)[:, None] >= count] = -1
        for later in range(1, self.max_drugs):
            repeated = slots[later] == slots[0]
            for earlier in range(1, later):
                repeated |= slots[later] == slots[earlier]
            slots[later, repeated] = -1
        return np.ascontiguousarray(slots.T)

    def _labs(
        self,
        rng: np.random.Generator,
        age: np.ndarray,
        female: np.ndarray,
        drugs: np.ndarray,
        conditions: np.ndarray,
    ) -> np.ndarray:
        """All five labs, shaped by the conditions and drugs that move them."""
        n = len(age)
        has = {c: conditions[:, i] for i, c in enumerate(CONDITIONS)}
        on_vka = self.is_vka[drugs].any(axis=1)

        egfr = 100.0 - 0.7 * np.maximum(age - 30, 0) + rng.normal(0.0, 12.0, n)
        egfr = np.where(has["ckd"], rng.uniform(10.0, 59.0, n), egfr)
        potassium = rng.normal(4.3, 0.35, n) + 0.5 * has["ckd"] + 0.2 * has["heart_failure"]
        inr = np.where(on_vka, rng.normal(2.6, 0.7, n), rng.normal(1.0, 0.08, n))
        inr = inr + 0.4 * has["liver_disease"]
        qtc = rng.normal(420.0, 20.0, n) + 8.0 * female + 60.0 * has["long_qt_syndrome"]
        qtc = qtc + 10.0 * has["heart_failure"]
        alt = np.exp(rng.normal(np.where(has["liver_disease"], np.log(110.0), np.log(24.0)), 0.4))

        columns = {
            "egfr": np.clip(egfr, 5.0, 130.0),
            "potassium": np.clip(potassium, 2.8, 6.8),
            "inr": np.clip(inr, 0.8, 6.0),
            "qtc": np.clip(qtc, 360.0, 600.0),
            "alt": np.clip(alt, 5.0, 600.0),
        }
        return np.column_stack([np.round(columns[lab], 1) for lab in LABS])

    # --- the order ----------------------------------------------------------------------

    def _orders(
        self, rng: np.random.Generator, drugs: np.ndarray, conditions: np.ndarray, labs: np.ndarray
    ) -> np.ndarray:
        """One new drug per patient: about `order_risk_share` of them moderate or worse.

        Every patient first gets a uniformly drawn drug it does not take. Above the share of
        risky uniform orders (the usual case), each is replaced with probability `add_risky`
        by a risky one: from a uniformly chosen source of risk in the record (a current drug
        with moderate-or-worse partners, a present condition that contraindicates some drug,
        a lab beyond a rule's threshold), a drug that source makes risky. Below it, risky
        uniform orders are redrawn with probability `drop_risky` until harmless (up to
        `SAFE_TRIES` draws). Both probabilities are calibrated once per knowledge base.
        """
        order = self._uniform_orders(rng, drugs)
        if self.drop_risky > 0:
            return self._fewer_risky(rng, drugs, conditions, labs, order)
        risky = self._risky_orders(rng, drugs, conditions, labs)
        replace = (risky >= 0) & (rng.random(len(drugs)) < self.add_risky)
        return np.where(replace, risky, order)

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
        age, female = self._demographics(rng, size)
        conditions = self._conditions(rng, age, female)
        drugs = self._drugs(rng, age, conditions)
        labs = self._labs(rng, age, female, drugs, conditions)
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
        """A uniform drug per patient among those it does not take."""
        n_drugs = self.tables.n_drugs
        order = rng.integers(0, n_drugs, size=len(drugs))
        held = (order[:, None] == drugs).any(axis=1)
        while held.any():  # at most max_drugs of n_drugs are taken: few rounds
            order[held] = rng.integers(0, n_drugs, size=int(held.sum()))
            held[held] = (order[held, None] == drugs[held]).any(axis=1)
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
        age, female = self._demographics(rng, size)
        conditions = self._conditions(rng, age, female)
        drugs = self._drugs(rng, age, conditions)
        labs = self._labs(rng, age, female, drugs, conditions)
        order = self._orders(rng, drugs, conditions, labs)
        return self.tables.patients(age, female, drugs, conditions, labs, order)
