"""How facts of a record go missing: which current drugs, condition slots and labs are hidden.

A mechanism turns a `Patients` batch and the configured `missing` percentage into `Masks`,
vectorized over the batch with a numpy Generator. Every mechanism hides the same share of each
group's facts at the same `missing` (MAR and MNAR weigh facts differently, then calibrate), so
MCAR, MAR and MNAR compare at equal rates. The units that can be hidden are the facts
of the record: each current drug, each condition slot whether the condition is present or
absent (knowing that a patient has no CKD is a fact too), and each measured lab. The ordered
drug and the age are always known. A lab never measured (a natural gap of a real record) is
not a fact: no mechanism hides it, and it stays unknown whatever is requested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cdss.env.patients import Patients
from cdss.knowledge import LABS

# Adult reference intervals (low, high) of each lab; a value outside is abnormal for MNAR.
REFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "egfr": (60.0, np.inf),  # below 60: CKD stage 3 or worse (KDIGO 2012)
    "potassium": (3.5, 5.0),  # mmol/L
    "inr": (0.8, 1.2),  # without anticoagulation
    "qtc": (0.0, np.inf),  # by sex, below
    "alt": (0.0, 40.0),  # U/L, a common upper limit of normal
}
QTC_UPPER_MALE = 450.0  # ms, prolonged above (AHA/ACCF/HRS 2009)
QTC_UPPER_FEMALE = 460.0


@dataclass(frozen=True, eq=False)
class Masks:
    """True where a fact is hidden from the agent (never for empty slots or unmeasured labs)."""

    drugs: np.ndarray  # (n, slots) bool
    conditions: np.ndarray  # (n, len(CONDITIONS)) bool
    labs: np.ndarray  # (n, len(LABS)) bool

    def hidden_share(self, patients: Patients) -> float:
        """Share of the facts that exist in `patients` that are hidden."""
        hidden = self.drugs.sum() + self.conditions.sum() + self.labs.sum()
        facts = patients.drug_slots.sum() + self.conditions.size + patients.measured_labs.sum()
        return float(hidden / facts) if facts else 0.0

    @staticmethod
    def concatenate(parts: Sequence[Masks]) -> Masks:
        """One mask batch from several."""
        return Masks(
            drugs=np.concatenate([m.drugs for m in parts]),
            conditions=np.concatenate([m.conditions for m in parts]),
            labs=np.concatenate([m.labs for m in parts]),
        )


class MissingnessMechanism(Protocol):
    """Decides which facts of each order are hidden, `missing` percent of them on average."""

    name: str

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks: ...


def _probability(missing: int) -> float:
    if not 0 <= missing <= 100:
        raise ValueError(f"missing is a percentage, got {missing}")
    return missing / 100.0


class MCAR:
    """Missing completely at random: every fact hidden independently with probability
    missing/100, whatever its value."""

    name = "mcar"

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks:
        p = _probability(missing)
        return Masks(
            drugs=(rng.random(patients.drugs.shape) < p) & patients.drug_slots,
            conditions=rng.random(patients.conditions.shape) < p,
            labs=(rng.random(patients.labs.shape) < p) & patients.measured_labs,
        )

    def __repr__(self) -> str:
        return "MCAR()"


def calibrated(
    p: float, kind: np.ndarray, kind_weight: Sequence[float] | np.ndarray, exists: np.ndarray
) -> np.ndarray:
    """Per-fact hiding probabilities proportional to the weight of each fact's kind, capped at
    1, whose mean over the existing facts is exactly p (while p <= 1).

    Scaling the weights to mean p is not enough once the heaviest facts would pass 1: capping
    them would hide fewer than p. Here the heaviest kinds are hidden for sure and the others
    share what remains, as few kinds saturated as possible (water-filling), so every mechanism
    hides the same overall share at the same `missing` and they compare fairly. Facts come in
    a few kinds (young outpatient, abnormal, ...), so this costs a count per kind, not a sort.
    """
    weights = np.asarray(kind_weight, dtype=np.float64)
    counts = np.bincount(kind[exists], minlength=len(weights)).astype(np.float64)
    if not counts.sum() or p <= 0:
        return np.zeros(kind.shape)
    order = np.argsort(-weights)  # heaviest kind first, kinds without facts left out
    order = order[counts[order] > 0]
    w, c = weights[order], counts[order]
    target = p * c.sum()
    scale = 0.0
    for saturated in range(len(w)):  # a handful of kinds
        scale = (target - c[:saturated].sum()) / (c[saturated:] * w[saturated:]).sum()
        if scale * w[saturated] <= 1:  # the heaviest kind left stays below certainty
            break
    probabilities = np.minimum(scale * weights, 1.0)[kind]
    return np.where(exists, probabilities, 0.0)


class MAR:
    """Missing at random: what is hidden depends on other, observed facts of the record.

    - Labs: patients under `young_age` and orders written outside hospital have fewer recent
      results on file; each factor multiplies the weight of their labs.
    - Conditions: younger patients have a thinner documented history (`young_factor`).
    - Current drugs: lists of patients on `polypharmacy` drugs or more are less complete
      (`polypharmacy_factor`), as reconciliation misses more items in long lists.

    Within each group the weights are calibrated (`calibrated`) so that missing/100 of the
    group's facts are hidden over a batch, the same overall share as MCAR.
    """

    name = "mar"

    def __init__(
        self,
        young_age: int = 50,
        young_factor: float = 2.0,
        outpatient_factor: float = 2.0,
        polypharmacy: int = 5,
        polypharmacy_factor: float = 2.0,
    ) -> None:
        if min(young_factor, outpatient_factor, polypharmacy_factor) <= 0:
            raise ValueError("MAR factors must be > 0")
        self.young_age = int(young_age)
        self.young_factor = float(young_factor)
        self.outpatient_factor = float(outpatient_factor)
        self.polypharmacy = int(polypharmacy)
        self.polypharmacy_factor = float(polypharmacy_factor)

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks:
        p = _probability(missing)
        young = (patients.age < self.young_age).astype(np.int64)[:, None]
        outpatient = (~patients.inpatient).astype(np.int64)[:, None]
        many = (patients.drug_slots.sum(axis=1) >= self.polypharmacy).astype(np.int64)[:, None]
        # Kinds: 2 x young + outpatient for labs, young for conditions, many for drugs.
        lab_weights = [1.0, self.outpatient_factor, self.young_factor,
                       self.young_factor * self.outpatient_factor]  # fmt: skip
        lab_kind = np.broadcast_to(2 * young + outpatient, patients.labs.shape)
        condition_shape = patients.conditions.shape
        condition_kind = np.broadcast_to(young, condition_shape)
        drug_kind = np.broadcast_to(many, patients.drugs.shape)
        every_slot = np.ones(condition_shape, dtype=bool)
        lab_p = calibrated(p, lab_kind, lab_weights, patients.measured_labs)
        condition_p = calibrated(p, condition_kind, [1.0, self.young_factor], every_slot)
        drug_p = calibrated(p, drug_kind, [1.0, self.polypharmacy_factor], patients.drug_slots)
        return Masks(
            drugs=(rng.random(patients.drugs.shape) < drug_p) & patients.drug_slots,
            conditions=rng.random(condition_shape) < condition_p,
            labs=(rng.random(patients.labs.shape) < lab_p) & patients.measured_labs,
        )

    def __repr__(self) -> str:
        return (
            f"MAR(young_age={self.young_age}, young_factor={self.young_factor}, "
            f"outpatient_factor={self.outpatient_factor}, polypharmacy={self.polypharmacy}, "
            f"polypharmacy_factor={self.polypharmacy_factor})"
        )


def abnormal_labs(patients: Patients) -> np.ndarray:
    """(n, len(LABS)) bool: measured values outside their reference interval, or beyond a rule
    of the ordered drug (`REFERENCE_RANGES`; QTc by sex)."""
    low = np.array([REFERENCE_RANGES[lab][0] for lab in LABS])
    high = np.tile(np.array([REFERENCE_RANGES[lab][1] for lab in LABS]), (len(patients), 1))
    high[:, LABS.index("qtc")] = np.where(patients.female, QTC_UPPER_FEMALE, QTC_UPPER_MALE)
    with np.errstate(invalid="ignore"):
        outside = (patients.labs < low) | (patients.labs > high)
    return (outside | (patients.lab_levels > 0)) & patients.measured_labs


class MNAR:
    """Missing not at random: abnormal values are hidden more often than normal ones.

    A lab outside its reference interval (or beyond a rule of the ordered drug), a present
    condition that raises the order's risk, and a current drug that interacts with the order
    are each `abnormal_factor` times likelier to be hidden than the other facts of their group,
    calibrated per group so that the overall share stays missing/100. This is the adversarial
    case: what matters is what is missing (a result not yet filed, a problem not yet coded).
    """

    name = "mnar"

    def __init__(self, abnormal_factor: float = 3.0) -> None:
        if abnormal_factor <= 0:
            raise ValueError("abnormal_factor must be > 0")
        self.abnormal_factor = float(abnormal_factor)

    def _hide(
        self, p: float, abnormal: np.ndarray, exists: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        kind = abnormal.astype(np.int64)
        probabilities = calibrated(p, kind, [1.0, self.abnormal_factor], exists)
        return (rng.random(abnormal.shape) < probabilities) & exists

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks:
        p = _probability(missing)
        every_slot = np.ones(patients.conditions.shape, dtype=bool)
        return Masks(
            drugs=self._hide(p, patients.drug_levels > 0, patients.drug_slots, rng),
            conditions=self._hide(p, patients.condition_levels > 0, every_slot, rng),
            labs=self._hide(p, abnormal_labs(patients), patients.measured_labs, rng),
        )

    def __repr__(self) -> str:
        return f"MNAR(abnormal_factor={self.abnormal_factor})"
