"""Drug knowledge: interactions, duplicate therapy, contraindications and lab rules.

The curated knowledge base ships as CSV files in `data/`; `load_kb(folder)` reads a folder of
the same layout. `load_ddinter(path)` reads DDInter's interaction downloads, and
`load_curated_ddinter(path)` merges them with the curated rules; DrugBank's vocabulary and the
WHO ATC index are read at run time when given. `KnowledgeBase.assess(record, order)` gives the
worst risk of an order with every reason and its source.
"""

from cdss.knowledge.cases import (
    CASE_LABS,
    case_conditions,
    fact_key_from_case,
    record_from_case,
)
from cdss.knowledge.conditions import map_condition
from cdss.knowledge.ddinter import load_ddinter
from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.loader import CURATED_DIR, load_curated, load_kb
from cdss.knowledge.merge import load_curated_ddinter
from cdss.knowledge.model import (
    CONDITIONS,
    DEFAULT_UNKNOWN_POLICY,
    LABS,
    UNKNOWN_POLICIES,
    Assessment,
    KnowledgeBaseError,
    LabRule,
    PatientRecord,
    Reason,
    Risk,
    UnknownDrugError,
)
from cdss.knowledge.report import LoadReport

__all__ = [
    "CASE_LABS",
    "CONDITIONS",
    "CURATED_DIR",
    "DEFAULT_UNKNOWN_POLICY",
    "LABS",
    "UNKNOWN_POLICIES",
    "Assessment",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LabRule",
    "LoadReport",
    "PatientRecord",
    "Reason",
    "Risk",
    "UnknownDrugError",
    "case_conditions",
    "fact_key_from_case",
    "load_curated",
    "load_curated_ddinter",
    "load_ddinter",
    "load_kb",
    "map_condition",
    "record_from_case",
]
