"""Synthea CSV exports as patient records: the reader, and the fit of the cohort generator.

`python -m cdss.env.synthea map PATH` prints how a folder maps onto the knowledge base;
`python -m cdss.env.synthea fit PATH --out FILE` fits the generator's distributions to it.
"""

from cdss.env.synthea.products import BRAND_INGREDIENTS, ProductMapper, ProductMapping, Status
from cdss.env.synthea.reader import (
    LAB_LOINC,
    MappingReport,
    SyntheaRecords,
    condition_keys,
    read_synthea,
)

__all__ = [
    "BRAND_INGREDIENTS",
    "LAB_LOINC",
    "MappingReport",
    "ProductMapper",
    "ProductMapping",
    "Status",
    "SyntheaRecords",
    "condition_keys",
    "read_synthea",
]
