"""Drug knowledge: interactions, duplicate therapy, contraindications and lab rules.

The curated knowledge base ships as CSV files in `data/`; `load_kb(folder)` reads a folder of
the same layout. `KnowledgeBase.assess(record, order)` gives the worst risk of an order with
every reason and its source.
"""

from cdss.knowledge.cases import (
    CASE_LABS,
    case_conditions,
    fact_key_from_case,
    record_from_case,
)
from cdss.knowledge.conditions import map_condition
from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.loader import CURATED_DIR, load_curated, load_kb
from cdss.knowledge.model import (
    CONDITIONS,
    LABS,
    Assessment,
    KnowledgeBaseError,
    LabRule,
    PatientRecord,
    Reason,
    Risk,
    UnknownDrugError,
)

__all__ = [
    "CASE_LABS",
    "CONDITIONS",
    "CURATED_DIR",
    "LABS",
    "Assessment",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LabRule",
    "PatientRecord",
    "Reason",
    "Risk",
    "UnknownDrugError",
    "case_conditions",
    "fact_key_from_case",
    "load_curated",
    "load_kb",
    "map_condition",
    "record_from_case",
]
