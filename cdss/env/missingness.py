"""How facts of a record go missing: which current drugs, condition slots and labs are hidden.

A mechanism turns a `Patients` batch and the configured `missing` percentage into `Masks`,
vectorized over the batch with a numpy Generator. The units that can be hidden are the facts
of the record: each current drug, each condition slot whether the condition is present or
absent (knowing that a patient has no CKD is a fact too), and each measured lab. The ordered
drug and the age are always known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cdss.env.patients import Patients


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


def _rescaled(p: float, weight: np.ndarray, exists: np.ndarray) -> np.ndarray:
    """Per-fact probabilities proportional to `weight` whose mean over existing facts is p."""
    mean_weight = weight[exists].mean() if exists.any() else 1.0
    return np.clip(p * weight / mean_weight, 0.0, 1.0)


class MAR:
    """Missing at random: labs and history are hidden more often in younger patients.

    Younger patients are mostly outpatients with few recent labs and a thin documented history;
    their facts are `young_factor` times likelier to be hidden, rescaled so the overall share
    over a batch stays missing/100 (before clipping at 1). Current drugs are MCAR.
    """

    name = "mar"

    def __init__(self, young_age: int = 50, young_factor: float = 2.0) -> None:
        if young_factor <= 0:
            raise ValueError("young_factor must be > 0")
        self.young_age = int(young_age)
        self.young_factor = float(young_factor)

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks:
        p = _probability(missing)
        weight = np.where(patients.age < self.young_age, self.young_factor, 1.0)[:, None]
        lab_p = _rescaled(p, np.broadcast_to(weight, patients.labs.shape), patients.measured_labs)
        condition_shape = patients.conditions.shape
        condition_p = _rescaled(
            p, np.broadcast_to(weight, condition_shape), np.ones(condition_shape, dtype=bool)
        )
        return Masks(
            drugs=(rng.random(patients.drugs.shape) < p) & patients.drug_slots,
            conditions=rng.random(condition_shape) < condition_p,
            labs=(rng.random(patients.labs.shape) < lab_p) & patients.measured_labs,
        )

    def __repr__(self) -> str:
        return f"MAR(young_age={self.young_age}, young_factor={self.young_factor})"


class MNAR:
    """Missing not at random: the facts that raise the order's risk are hidden more often.

    A fact whose contribution to the order is above none (an interacting drug, a
    contraindicating condition, a lab beyond a rule's threshold) is `abnormal_factor` times
    likelier to be hidden than the others, rescaled per group so the overall share over a
    batch stays missing/100. This is the adversarial case: what matters is what is missing.
    """

    name = "mnar"

    def __init__(self, abnormal_factor: float = 2.0) -> None:
        if abnormal_factor <= 0:
            raise ValueError("abnormal_factor must be > 0")
        self.abnormal_factor = float(abnormal_factor)

    def _hide(
        self, p: float, levels: np.ndarray, exists: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        weight = np.where(levels > 0, self.abnormal_factor, 1.0)
        return (rng.random(levels.shape) < _rescaled(p, weight, exists)) & exists

    def sample(self, patients: Patients, missing: int, rng: np.random.Generator) -> Masks:
        p = _probability(missing)
        all_slots = np.ones(patients.conditions.shape, dtype=bool)
        return Masks(
            drugs=self._hide(p, patients.drug_levels, patients.drug_slots, rng),
            conditions=self._hide(p, patients.condition_levels, all_slots, rng),
            labs=self._hide(p, patients.lab_levels, patients.measured_labs, rng),
        )

    def __repr__(self) -> str:
        return f"MNAR(abnormal_factor={self.abnormal_factor})"
