"""RxNorm product descriptions ("60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol
0.05 MG/ACTUAT Dry Powder Inhaler") to their ingredients, and those to knowledge-base drugs.

Synthea names every medication by its RxNorm clinical or branded drug description: an optional
quantity ("0.4 ML", "12 HR", an "NDA020800" application number), then one `name strength`
component per ingredient joined by " / ", then the dose form and an optional "[Brand]". A few
products are named by brand alone ("Jolivette 28 Day Pack"); `BRAND_INGREDIENTS` lists their
ingredients (RxNorm facts). An ingredient the knowledge base does not hold is reported, not
guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cdss.knowledge import KnowledgeBase, UnknownDrugError
from cdss.knowledge.names import normalize

# Products named by brand only, with their ingredients (RxNorm SBD/BPCK ingredients).
BRAND_INGREDIENTS: dict[str, tuple[str, ...]] = {
    "jolivette": ("norethindrone",),
    "errin": ("norethindrone",),
    "camila": ("norethindrone",),
    "nora-be": ("norethindrone",),
    "heather": ("norethindrone",),
    "kyleena": ("levonorgestrel",),
    "mirena": ("levonorgestrel",),
    "liletta": ("levonorgestrel",),
    "skyla": ("levonorgestrel",),
    "seasonique": ("levonorgestrel", "ethinyl estradiol"),
    "levora": ("levonorgestrel", "ethinyl estradiol"),
    "yaz": ("drospirenone", "ethinyl estradiol"),
    "yasmin": ("drospirenone", "ethinyl estradiol"),
    "trinessa": ("norgestimate", "ethinyl estradiol"),
    "ortho tri-cyclen": ("norgestimate", "ethinyl estradiol"),
    "lo loestrin fe": ("norethindrone", "ethinyl estradiol"),
    "microgestin": ("norethindrone", "ethinyl estradiol"),
    "norinyl 1+50": ("norethindrone", "mestranol"),
    "norinyl 1+35": ("norethindrone", "ethinyl estradiol"),
    "natazia": ("estradiol valerate", "dienogest"),
    "nuvaring": ("etonogestrel", "ethinyl estradiol"),
    "nexplanon": ("etonogestrel",),
    "implanon": ("etonogestrel",),
    "depo-provera": ("medroxyprogesterone acetate",),
    "depo-subq provera": ("medroxyprogesterone acetate",),
}

# RxNorm ingredient spellings whose common (INN, DrugBank) name differs.
RXNORM_SPELLINGS: dict[str, str] = {
    "vitamin b 12": "cyanocobalamin",
    "ferrous sulfate": "ferrous sulfate anhydrous",
    "amiodarone hydrocholoride": "amiodarone hydrochloride",  # sic, in Synthea's RxNorm names
    "insulin human isophane": "insulin human",
    "regular insulin human": "insulin human",
}

# A leading quantity, application number or qualifier before the first ingredient.
_PREFIX = re.compile(
    r"^(?:nda\d+|anda\d+|bla\d+|abuse-deterrent|\d+(?:\.\d+)?\s+(?:ml|actuat|hr|day|mg|unt))\s+"
)
# The strength that ends an ingredient's name: "10 MG", "0.25 MG/ACTUAT", "100 UNT/ML".
_STRENGTH = re.compile(r"\s\d+(?:\.\d+)?\s*(?:mg|mcg|ml|unt|meq|mmol|iu|%)(?:/\S+)?(?:\s|$)")
_BRAND = re.compile(r"\s*\[([^\]]*)\]\s*$")
_PARENS = re.compile(r"\s*\([^)]*\)")
_DAY_PACK = re.compile(r"\s+\d+\s+day\s+pack$")  # "Norinyl 1+50 28 Day Pack" -> "norinyl 1+50"
_PACK = re.compile(r"\s+\d.*$")  # "Jolivette 28 Day Pack" -> "jolivette"
_COMPONENT_SEPARATOR = " / "

# name -> (a recognized drug?, the KB drug it is under another name or None)
VocabularyCheck = Callable[[str], tuple[bool, str | None]]


class Status(StrEnum):
    """How a product maps; `KB` and `PARTIAL` count as mapped (see `mapped`)."""

    KB = "kb"  # every ingredient is a drug of the knowledge base
    PARTIAL = "partial"  # some ingredients are KB drugs, the others are not in the KB
    NOT_IN_KB = "not_in_kb"  # ingredients identified, none of them in the KB
    NAME_MISSED = "name_missed"  # an ingredient the KB holds under another name was missed
    UNRECOGNIZED = "unrecognized"  # an ingredient (or every one) could not be identified

    @property
    def mapped(self) -> bool:
        """Names at least one KB drug, and every ingredient the KB knows is mapped to it.

        A combination counts as mapped when each ingredient the KB holds is mapped, so a
        product whose only ingredients are drugs the KB lacks (`NOT_IN_KB`) is not mapped.
        """
        return self in (Status.KB, Status.PARTIAL)

    @property
    def mapped_leniently(self) -> bool:
        """No ingredient the KB knows was missed; products the KB holds nothing of count too."""
        return self.mapped or self is Status.NOT_IN_KB


@dataclass(frozen=True)
class ProductMapping:
    """One product description: its ingredients, which of them are KB drugs, which are not."""

    description: str
    ingredients: tuple[str, ...]  # normalized ingredient names as written
    drugs: tuple[str, ...]  # canonical KB names of the ingredients the KB holds
    not_in_kb: tuple[str, ...]  # ingredients the KB does not hold
    status: Status


def ingredients(description: str) -> tuple[str, ...]:
    """Normalized ingredient names of an RxNorm product description ("" parts dropped)."""
    text = normalize(description)
    brand_match = _BRAND.search(text)
    brand = brand_match.group(1).strip() if brand_match else ""
    text = _BRAND.sub("", text)
    while (prefix := _PREFIX.match(text)) is not None:
        text = text[prefix.end() :]
    names = []
    for component in text.split(_COMPONENT_SEPARATOR):
        strength = _STRENGTH.search(" " + component)
        name = component[: strength.start()] if strength else component
        name = _PARENS.sub("", name).strip()
        if name:
            name = " ".join(name.split())
            names.append(RXNORM_SPELLINGS.get(name, name))
    if len(names) == 1:
        for key in (names[0], _DAY_PACK.sub("", names[0]), _PACK.sub("", names[0]), brand):
            if key in BRAND_INGREDIENTS:
                return BRAND_INGREDIENTS[key]
    return tuple(names)


class ProductMapper:
    """Maps product descriptions to KB drugs, once per distinct description.

    Arguments:
        kb: the knowledge base whose drugs are the targets.
        vocabulary: optional check of an ingredient the KB did not resolve, returning whether
            it is a known drug at all and the KB drug it is under another name (or None),
            e.g. through DrugBank concepts. With it, "not in KB" means a recognized drug the
            KB lacks; a KB drug missed by name is `NAME_MISSED` and an ingredient nobody
            recognizes `UNRECOGNIZED`, both unmapped. Without it, every identified ingredient
            that the KB does not resolve counts as not in the KB.
    """

    def __init__(self, kb: KnowledgeBase, vocabulary: VocabularyCheck | None = None) -> None:
        self.kb = kb
        self.vocabulary = vocabulary
        self._cache: dict[str, ProductMapping] = {}

    def __call__(self, description: str) -> ProductMapping:
        found = self._cache.get(description)
        if found is None:
            found = self._cache[description] = self._map(description)
        return found

    def _map(self, description: str) -> ProductMapping:
        names = ingredients(description)
        drugs: list[str] = []
        missing: list[str] = []
        missed = unknown = False
        for name in names:
            drug = self._resolve(name)
            if drug is not None:
                if drug not in drugs:
                    drugs.append(drug)
                continue
            missing.append(name)
            if self.vocabulary is not None:
                recognized, twin = self.vocabulary(name)
                missed |= twin is not None
                unknown |= not recognized
        if not names or unknown:
            status = Status.UNRECOGNIZED
        elif missed:
            status = Status.NAME_MISSED
        elif not missing:
            status = Status.KB
        else:
            status = Status.PARTIAL if drugs else Status.NOT_IN_KB
        return ProductMapping(description, names, tuple(drugs), tuple(missing), status)

    def _resolve(self, name: str) -> str | None:
        try:
            return self.kb.resolve(name)
        except UnknownDrugError:
            return None

    @property
    def mappings(self) -> Mapping[str, ProductMapping]:
        """Every description mapped so far."""
        return self._cache
