"""Value types of the knowledge base: risk levels, patient records, reasons, rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class Risk(IntEnum):
    """Severity of an order; ordered so that the worst of several facts is their max."""

    NONE = 0
    MINOR = 1
    MODERATE = 2
    MAJOR = 3
    CONTRAINDICATED = 4

    @classmethod
    def parse(cls, text: str) -> Risk:
        """Read a level as written in the CSV files ("major", "Contraindicated", ...)."""
        return cls[text.strip().upper()]


# DDInter's "Unknown" severity is a level of its own; a policy says which risk it stands for.
UNKNOWN_POLICIES: tuple[str, ...] = ("none", "minor", "moderate", "major")
DEFAULT_UNKNOWN_POLICY = "moderate"  # the system warns on a pair of unknown severity


def unknown_level(policy: str) -> Risk:
    """The risk an interaction of unknown severity stands for under a policy."""
    text = str(policy).strip().lower()
    if text not in UNKNOWN_POLICIES:
        raise ValueError(
            f"unknown_policy {policy!r}: expected one of {', '.join(UNKNOWN_POLICIES)}"
        )
    return Risk.parse(text)


# mL/min/1.73m2, mmol/L, ratio, ms, U/L
LABS: tuple[str, ...] = ("egfr", "potassium", "inr", "qtc", "alt")

CONDITIONS: tuple[str, ...] = (
    "ckd",
    "asthma",
    "copd",
    "pregnancy",
    "heart_failure",
    "liver_disease",
    "peptic_ulcer",
    "angioedema_history",
    "atrial_fibrillation",
    "diabetes",
    "hypertension",
    "epilepsy",
    "gout",
    "bradycardia",
    "long_qt_syndrome",
)

LAB_INDEX: dict[str, int] = {lab: i for i, lab in enumerate(LABS)}
CONDITION_INDEX: dict[str, int] = {condition: i for i, condition in enumerate(CONDITIONS)}


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is malformed; the message names the file, line and problem."""


class UnknownDrugError(KeyError):
    """A drug name the knowledge base cannot resolve: never read as "no interaction"."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(name)
        self.name = name
        self.detail = detail

    def __str__(self) -> str:
        message = f"unknown drug {self.name!r}"
        return f"{message}: {self.detail}" if self.detail else message


@dataclass(frozen=True)
class PatientRecord:
    """The full record of one patient; what is hidden is decided elsewhere (cdss.env)."""

    age: int
    sex: str  # "F" | "M"
    drugs: tuple[str, ...]  # canonical drug names of the KB
    conditions: frozenset[str]  # keys of CONDITIONS
    labs: Mapping[str, float] = field(default_factory=dict)  # keys of LABS; unmeasured absent


@dataclass(frozen=True)
class Reason:
    """One fact that raises the risk of an order, with the rule's text and source."""

    kind: str  # "interaction" | "duplicate" | "condition" | "lab"
    level: Risk
    subject: str  # the partner drug, the condition key, or the lab key
    detail: str
    source: str


@dataclass(frozen=True)
class Assessment:
    """The worst level over all facts of a record, and every reason behind it."""

    level: Risk
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class LabRule:
    """A single-lab threshold rule for one drug, e.g. metformin with egfr < 30."""

    lab: str
    op: str  # "<" | ">"
    threshold: float
    level: Risk
    detail: str
    source: str

    def matches(self, value: float) -> bool:
        """True when the measured value lies beyond the threshold (strictly)."""
        return value < self.threshold if self.op == "<" else value > self.threshold
