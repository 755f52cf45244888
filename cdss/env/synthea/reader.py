"""Read a Synthea CSV export into patient records of the knowledge base's vocabulary.

A record is the patient's state on the export's last day (the latest encounter or observation
of the folder): the medications still active (no STOP date), the chronic conditions still
active, the latest value of each lab, the age on that day, and how often the patient is seen
in hospital (inpatient or emergency encounters), which the MAR mechanism reads. Deceased
patients and children are left out: no new order is written for them.

Both CSV schemas in use are read: Synthea v3 (`Id`, encounter `START` and `ENCOUNTERCLASS`,
observation `CATEGORY`) and the 2017 Synthea 1.x layout (`ID`, encounter `DATE` and a free-text
description). Everything that cannot be mapped is counted in a `MappingReport`.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from cdss.env.synthea.products import ProductMapper, Status, VocabularyCheck
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord, map_condition
from cdss.knowledge.names import strip_forms

log = logging.getLogger(__name__)

FILES = ("patients.csv", "medications.csv", "conditions.csv", "observations.csv", "encounters.csv")
MIN_AGE = 18

# LOINC codes of each lab, every variant of the analyte merged (the latest value wins).
LAB_LOINC: dict[str, tuple[str, ...]] = {
    # eGFR: MDRD (33914-3, 48642-3, 48643-1, 77147-7), CKD-EPI (62238-1, 98979-8), any (69405-9)
    "egfr": ("33914-3", "48642-3", "48643-1", "62238-1", "69405-9", "77147-7", "98979-8"),
    "potassium": ("2823-3", "6298-4", "77142-8"),  # serum/plasma, blood, any specimen
    "inr": ("6301-6", "34714-6", "46418-0", "38875-1"),  # PPP, blood, capillary, PPP or blood
    "qtc": ("8636-3",),  # Q-T interval corrected (not 8634-8, the uncorrected interval)
    "alt": ("1742-6", "1743-4", "1744-2", "76625-3"),  # serum/plasma (+/- P-5'-P), blood
}
# Units accepted per lab (Synthea writes eGFR as mL/min for 33914-3, "per 1.73 m2" implied).
LAB_UNITS: dict[str, frozenset[str]] = {
    "egfr": frozenset({"ml/min/{1.73_m2}", "ml/min/1.73m2", "ml/min"}),
    "potassium": frozenset({"mmol/l", "meq/l"}),
    "inr": frozenset({"{inr}", "{ratio}", "1", ""}),
    "qtc": frozenset({"ms", "msec"}),
    "alt": frozenset({"u/l", "iu/l"}),
}
_LAB_OF_CODE = {code: lab for lab, codes in LAB_LOINC.items() for code in codes}

# Encounter classes where an order is written in hospital; the other classes are outpatient.
HOSPITAL_CLASSES = frozenset({"inpatient", "emergency"})
_HOSPITAL_WORDS = re.compile(r"\b(inpatient|emergency|admission|hospital)\b", re.I)

# Active conditions that name a key by their words but are not that state now, and conditions
# that imply a second key (Synthea's diabetes module codes nephropathy this way).
_NOT_A_STATE = re.compile(r"miscarriage|tubal pregnancy|ectopic|abortion|history of", re.I)
_ALSO: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"diabetic renal disease|diabetic nephropathy", re.I), ("diabetes", "ckd")),
)


@dataclass
class MappingReport:
    """What a folder held and what could not be mapped, for the `map` command and the logs."""

    path: str
    medication_rows: int = 0  # active medication rows (no STOP date), every patient
    kb_named_rows: int = 0  # active rows naming at least one KB drug, whatever their status
    status_rows: Counter[str] = field(default_factory=Counter)  # rows per products.Status
    kb_drug_rows: Counter[str] = field(default_factory=Counter)  # rows per canonical KB drug
    not_in_kb_rows: Counter[str] = field(default_factory=Counter)  # rows per missing ingredient
    unmapped_rows: Counter[str] = field(default_factory=Counter)  # rows per unmapped description
    condition_rows: Counter[str] = field(default_factory=Counter)  # active rows per key
    unmapped_conditions: Counter[str] = field(default_factory=Counter)  # active, no key
    lab_patients: Counter[str] = field(default_factory=Counter)  # kept patients with a value
    unit_problems: Counter[str] = field(default_factory=Counter)  # "lab unit" not understood
    patients: int = 0
    kept: int = 0
    deceased: int = 0
    under_age: int = 0

    @property
    def coverage(self) -> float:
        """Share of active medication rows that are mapped: each names at least one KB drug,
        and every ingredient of it that the KB knows is mapped (`Status.mapped`)."""
        return self._share(lambda status: status.mapped)

    @property
    def lenient_coverage(self) -> float:
        """As `coverage`, but rows whose ingredients are all absent from the KB count as
        mapped too (nothing the KB knows was missed): an upper bound, not the target."""
        return self._share(lambda status: status.mapped_leniently)

    @property
    def kb_coverage(self) -> float:
        """Share of active medication rows that name at least one drug of the KB."""
        return self.kb_named_rows / self.medication_rows if self.medication_rows else float("nan")

    def _share(self, counted: Callable[[Status], bool]) -> float:
        rows = sum(n for status, n in self.status_rows.items() if counted(Status(status)))
        return rows / self.medication_rows if self.medication_rows else float("nan")

    def text(self, top: int = 40) -> str:
        """A plain-text summary: coverage, then what was not mapped, most frequent first."""
        lines = [
            f"Synthea folder {self.path}",
            f"  patients {self.patients}: kept {self.kept} (deceased {self.deceased}, "
            f"under {MIN_AGE} {self.under_age} left out)",
            f"  active medication rows {self.medication_rows}: coverage {self.coverage:.1%} "
            "(naming a KB drug, every ingredient the KB knows mapped); "
            f"lenient {self.lenient_coverage:.1%} (rows with no KB ingredient counted too)",
            "  rows by status: "
            + ", ".join(f"{status} {self.status_rows[status]}" for status in Status),
        ]
        sections = (
            ("ingredients not in the knowledge base (rows)", self.not_in_kb_rows),
            ("medications not mapped (rows)", self.unmapped_rows),
            ("active conditions without a CONDITIONS key (rows)", self.unmapped_conditions),
            ("lab units not understood (rows)", self.unit_problems),
        )
        for title, counts in sections:
            lines.append(f"  {title}: {sum(counts.values())}")
            lines.extend(f"    {n:5d}  {name}" for name, n in counts.most_common(top))
        lines.append("  conditions mapped (rows): " + _inline(self.condition_rows))
        lines.append("  kept patients with a lab value: " + _inline(self.lab_patients))
        lines.append("  KB drugs (rows): " + _inline(self.kb_drug_rows))
        return "\n".join(lines)


def _inline(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.most_common()) or "none"


@dataclass(frozen=True, eq=False)
class SyntheaRecords:
    """The records of one Synthea folder, one per kept patient, with the reading's report."""

    path: Path
    schema: str  # "v3" or "v1" (the 2017 layout)
    index_date: date
    patient_ids: tuple[str, ...]
    records: tuple[PatientRecord, ...]
    hospital_share: np.ndarray  # (n,) share of each patient's encounters in hospital
    report: MappingReport

    def __len__(self) -> int:
        return len(self.records)


# --- reading ----------------------------------------------------------------------------


def _rows(folder: Path, name: str) -> Iterator[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


def _day(text: str) -> date | None:
    """The date of an ISO date or timestamp ("2013-12-18T15:27:41Z"); None when empty."""
    return date.fromisoformat(text[:10]) if text else None


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_folder(path: str | Path) -> Path:
    """The folder, or a FileNotFoundError naming the file a Synthea export must have."""
    folder = Path(path)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a Synthea CSV export: missing {', '.join(missing)}"
        )
    return folder


def vocabulary_check(kb: KnowledgeBase, vocabulary_path: str | Path) -> VocabularyCheck:
    """Whether an ingredient is a DrugBank drug, and the KB drug sharing its concept if any.

    Makes "not in the KB" a checked statement: the ingredient is a drug DrugBank knows, and
    no KB drug is that drug under a name the KB's synonyms lack.
    """
    from cdss.knowledge.vocabulary import load_vocabulary

    vocabulary = load_vocabulary(vocabulary_path)
    by_concept: dict[int, str] = {}
    for drug in kb.drugs:
        concept = vocabulary.concept([drug])
        if concept is not None:
            by_concept.setdefault(concept, drug)

    def known(name: str) -> tuple[bool, str | None]:
        concept = vocabulary.concept([name, strip_forms(name)])
        return concept is not None, None if concept is None else by_concept.get(concept)

    return known


def read_synthea(
    path: str | Path,
    kb: KnowledgeBase,
    *,
    vocabulary: str | Path | None = None,
    min_age: int = MIN_AGE,
) -> SyntheaRecords:
    """Read a Synthea CSV folder into records of `kb`'s drugs and CONDITIONS keys.

    `vocabulary` (DrugBank's open vocabulary CSV) makes the report stricter: an ingredient
    the KB holds under a name its synonyms lack counts as unmapped instead of "not in KB".
    """
    folder = check_folder(path)
    mapper = ProductMapper(kb, vocabulary_check(kb, vocabulary) if vocabulary else None)
    report = MappingReport(str(folder))
    patients = list(_rows(folder, "patients.csv"))
    schema = "v3" if patients and "Id" in patients[0] else "v1"
    id_column = "Id" if schema == "v3" else "ID"

    hospital, seen, last_day = _encounters(folder)
    last_day = max(last_day, _last_observation_day(folder))
    drugs = _active_drugs(folder, mapper, report)
    conditions = _active_conditions(folder, report)

    kept: list[tuple[str, int, str]] = []
    for row in patients:
        report.patients += 1
        if row.get("DEATHDATE"):
            report.deceased += 1
            continue
        born = _day(row["BIRTHDATE"])
        age = _age(born, last_day) if born else -1
        if age < min_age:
            report.under_age += 1
            continue
        kept.append((row[id_column], age, row.get("GENDER", "").upper()[:1] or "F"))
    report.kept = len(kept)
    labs = _latest_labs(folder, {pid for pid, _, _ in kept}, last_day, report)

    records = []
    for pid, age, sex in kept:
        record = PatientRecord(
            age=age,
            sex=sex,
            drugs=tuple(drugs.get(pid, ())),
            conditions=frozenset(conditions.get(pid, ())),
            labs=labs.get(pid, {}),
        )
        records.append(record)
        report.lab_patients.update(list(record.labs))
    share = np.array(
        [hospital.get(pid, 0) / seen[pid] if seen.get(pid) else 0.0 for pid, _, _ in kept]
    )
    log.info(
        "read Synthea %s (%s schema, day %s): %d of %d patients kept, medication coverage "
        "%.1f%% (lenient %.1f%%)",
        folder, schema, last_day, len(records), report.patients, 100 * report.coverage,
        100 * report.lenient_coverage,
    )  # fmt: skip
    return SyntheaRecords(
        path=folder,
        schema=schema,
        index_date=last_day,
        patient_ids=tuple(pid for pid, _, _ in kept),
        records=tuple(records),
        hospital_share=share,
        report=report,
    )


def _encounters(folder: Path) -> tuple[Counter[str], Counter[str], date]:
    """Hospital encounters and all encounters per patient, and the latest encounter day."""
    hospital: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    last = date.min
    for row in _rows(folder, "encounters.csv"):
        day = _day(row.get("START") or row.get("DATE", ""))
        if day is not None and day > last:
            last = day
        encounter_class = row.get("ENCOUNTERCLASS")
        if encounter_class is not None:
            in_hospital = encounter_class.strip().lower() in HOSPITAL_CLASSES
        else:
            in_hospital = bool(_HOSPITAL_WORDS.search(row.get("DESCRIPTION", "")))
        seen[row["PATIENT"]] += 1
        hospital[row["PATIENT"]] += in_hospital
    return hospital, seen, last


def _last_observation_day(folder: Path) -> date:
    last = date.min
    for row in _rows(folder, "observations.csv"):
        day = _day(row["DATE"])
        if day is not None and day > last:
            last = day
    return last


def _active_drugs(
    folder: Path, mapper: ProductMapper, report: MappingReport
) -> dict[str, list[str]]:
    """KB drugs of each patient's active medication rows; every active row is reported."""
    drugs: dict[str, list[str]] = {}
    for row in _rows(folder, "medications.csv"):
        if row.get("STOP"):
            continue
        mapping = mapper(row["DESCRIPTION"].strip())
        report.medication_rows += 1
        report.kb_named_rows += bool(mapping.drugs)
        report.status_rows[mapping.status] += 1
        report.kb_drug_rows.update(mapping.drugs)
        if not mapping.status.mapped:
            report.unmapped_rows[f"{mapping.description} ({mapping.status})"] += 1
        if mapping.status.mapped_leniently:  # identified drugs the KB lacks, not name misses
            report.not_in_kb_rows.update(mapping.not_in_kb)
        held = drugs.setdefault(row["PATIENT"], [])
        held.extend(drug for drug in mapping.drugs if drug not in held)
    return drugs


def condition_keys(description: str) -> tuple[str, ...]:
    """CONDITIONS keys of one active Synthea condition description (often none)."""
    if _NOT_A_STATE.search(description):
        return ()
    for pattern, keys in _ALSO:
        if pattern.search(description):
            return keys
    key = map_condition(description)
    return () if key is None else (key,)


def _active_conditions(folder: Path, report: MappingReport) -> dict[str, set[str]]:
    conditions: dict[str, set[str]] = {}
    for row in _rows(folder, "conditions.csv"):
        if row.get("STOP"):
            continue
        keys = condition_keys(row["DESCRIPTION"])
        if not keys:
            report.unmapped_conditions[row["DESCRIPTION"]] += 1
            continue
        report.condition_rows.update(keys)
        conditions.setdefault(row["PATIENT"], set()).update(keys)
    unknown = {key for keys in conditions.values() for key in keys} - set(CONDITIONS)
    if unknown:
        raise ValueError(f"condition keys outside CONDITIONS: {sorted(unknown)}")
    return conditions


def _latest_labs(
    folder: Path, patients: set[str], last_day: date, report: MappingReport
) -> dict[str, dict[str, float]]:
    """Latest value of each lab per kept patient, on or before the index day."""
    latest: dict[tuple[str, str], tuple[str, float]] = {}
    for row in _rows(folder, "observations.csv"):
        lab = _LAB_OF_CODE.get(row["CODE"].strip())
        if lab is None or row["PATIENT"] not in patients:
            continue
        unit = row.get("UNITS", "").strip().lower()
        if unit not in LAB_UNITS[lab]:
            report.unit_problems[f"{lab} {unit!r}"] += 1
            continue
        try:
            value = float(row["VALUE"])
        except ValueError:
            report.unit_problems[f"{lab} non-numeric {row['VALUE']!r}"] += 1
            continue
        key = (row["PATIENT"], lab)
        stamp = row["DATE"]
        if stamp[:10] <= last_day.isoformat() and (key not in latest or stamp > latest[key][0]):
            latest[key] = (stamp, value)
    labs: dict[str, dict[str, float]] = {}
    for (pid, lab), (_, value) in latest.items():
        labs.setdefault(pid, {})[lab] = value
    return {
        pid: {lab: values[lab] for lab in LABS if lab in values} for pid, values in labs.items()
    }
