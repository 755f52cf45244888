"""Turn the clinical cases of `shared/cases/cases.json` into records the KB can assess."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from cdss.knowledge.conditions import map_condition
from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.loader import load_curated
from cdss.knowledge.model import PatientRecord

log = logging.getLogger(__name__)

# Lab keys of the case files (with units) -> LABS keys.
CASE_LABS: dict[str, str] = {
    "egfr_ml_min_1_73m2": "egfr",
    "potassium_mmol_l": "potassium",
    "inr": "inr",
    "qtc_ms": "qtc",
    "alt_u_l": "alt",
}
_BRACKETED = re.compile(r"^(\w+)\[(.*)\]$")


def _kb(kb: KnowledgeBase | None) -> KnowledgeBase:
    return kb if kb is not None else load_curated()


def case_conditions(case: Mapping[str, Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Mapped condition keys of a case, and the free-text conditions nothing matched."""
    mapped: set[str] = set()
    unmapped: list[str] = []
    for text in case.get("conditions", ()):
        key = map_condition(text)
        if key is None:
            unmapped.append(text)
        else:
            mapped.add(key)
    if case.get("pregnant"):
        mapped.add("pregnancy")
    return frozenset(mapped), tuple(unmapped)


def record_from_case(
    case: Mapping[str, Any], kb: KnowledgeBase | None = None
) -> tuple[PatientRecord, str]:
    """The patient record and the canonical ordered drug of one case.

    Current drugs go through `resolve_all` (combination products become their ingredients)
    and an unknown drug raises UnknownDrugError. Conditions nothing maps to are dropped and
    logged; `case_conditions` reports them.
    """
    kb = _kb(kb)
    drugs: list[str] = []
    for name in case.get("current_drugs", ()):
        drugs.extend(d for d in kb.resolve_all(name) if d not in drugs)
    conditions, unmapped = case_conditions(case)
    if unmapped:
        log.debug("case %s: conditions without a key: %s", case.get("id"), "; ".join(unmapped))
    labs: dict[str, float] = {}
    for key, value in case.get("labs", {}).items():
        lab = CASE_LABS.get(key)
        if lab is None:
            log.warning("case %s: lab %r has no LABS key, ignored", case.get("id"), key)
        else:
            labs[lab] = float(value)
    record = PatientRecord(
        age=int(case["age"]),
        sex=str(case["sex"]),
        drugs=tuple(drugs),
        conditions=conditions,
        labs=labs,
    )
    return record, kb.resolve(case["order"])


def fact_key_from_case(hide_entry: str, kb: KnowledgeBase | None = None) -> str:
    """The env's fact key of a `hide` entry: "labs.egfr_ml_min_1_73m2" -> "labs.egfr".

    "conditions[chronic kidney disease stage 4]" -> "conditions.ckd",
    "current_drugs[warfarin]" -> "drugs.warfarin", "pregnant" -> "conditions.pregnancy".
    """
    text = hide_entry.strip()
    if text == "pregnant":
        return "conditions.pregnancy"
    if text.startswith("labs."):
        lab = text.removeprefix("labs.")
        if lab in CASE_LABS:
            return f"labs.{CASE_LABS[lab]}"
        if lab in CASE_LABS.values():
            return f"labs.{lab}"
        raise ValueError(f"hide entry {hide_entry!r}: unknown lab {lab!r}")
    match = _BRACKETED.match(text)
    if match and match.group(1) == "conditions":
        key = map_condition(match.group(2))
        if key is None:
            raise ValueError(f"hide entry {hide_entry!r}: no condition key for {match.group(2)!r}")
        return f"conditions.{key}"
    if match and match.group(1) in ("current_drugs", "drugs"):
        return f"drugs.{_kb(kb).resolve(match.group(2))}"
    raise ValueError(
        f"hide entry {hide_entry!r}: expected labs.<lab>, conditions[...] or current_drugs[...]"
    )
