"""Drug-name normalization: case, spacing, salts, dose forms, brackets and combinations.

Prescriptions and exported records name the same drug many ways ("Metoprolol Succinate ER",
"salbutamol (albuterol) inhaler"); the knowledge base resolves them all to one canonical name.
"""

from __future__ import annotations

import re
import unicodedata

# Salt and ester words: dropped when something remains ("losartan potassium" -> "losartan"),
# kept when they are the whole name ("potassium" alone, or "potassium chloride").
SALT_WORDS = frozenset(
    {
        "hydrochloride", "hcl", "dihydrochloride", "hydrobromide", "sodium", "disodium",
        "potassium", "calcium", "magnesium", "succinate", "tartrate", "maleate", "besylate",
        "besilate", "mesylate", "mesilate", "fumarate", "hemifumarate", "citrate", "sulfate",
        "sulphate", "phosphate", "acetate", "bromide", "hyclate", "monohydrate", "dihydrate",
        "trihydrate", "hemihydrate", "anhydrous", "furoate", "propionate", "dipropionate",
        "xinafoate", "valerate", "bitartrate", "trometamol", "tromethamine", "etexilate",
        "medoxomil", "cilexetil", "axetil", "erbumine", "arginine", "lactate", "gluconate",
        "carbonate", "napsylate", "embonate", "pamoate", "dimesylate", "nitrate",
    }
)  # fmt: skip

# Dose-form and release words: never part of an ingredient's name.
FORM_WORDS = frozenset(
    {
        "extended", "delayed", "modified", "sustained", "controlled", "prolonged", "immediate",
        "release", "released", "er", "xr", "sr", "xl", "cr", "dr", "mr", "la", "ir", "ec",
        "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "oral",
        "solution", "suspension", "syrup", "elixir", "injection", "injectable", "infusion",
        "iv", "im", "sc", "subcutaneous", "intravenous", "inhaler", "inhalation", "inhaled",
        "nebuliser", "nebulizer", "nebules", "mdi", "dpi", "spray", "nasal", "cream",
        "ointment", "gel", "patch", "transdermal", "drops", "film", "coated", "chewable",
        "dispersible", "effervescent", "orodispersible", "sublingual", "buccal", "powder",
        "for", "pen", "prefilled", "syringe", "vial", "ampoule", "daily", "prn", "po", "hfa",
        "diskus", "ellipta", "respimat", "turbuhaler", "evohaler", "accuhaler", "handihaler",
        "topical", "ophthalmic", "otic", "rectal", "vaginal", "suppository", "lotion",
    }
)  # fmt: skip

# Words of a bracketed qualifier that names a route, a salt or a formulation of one ingredient
# ("Diclofenac (topical)", "Benzylpenicillin (potassium)", "Doxorubicin (liposomal)"): records
# that differ only by such a qualifier are one drug for interaction checking. Qualifiers with
# other words stay part of the name ("Insulin human (isophane)", "Iobenguane (I-123)").
QUALIFIER_WORDS = SALT_WORDS | frozenset(
    {
        "topical", "topiclal", "ophthalmic", "nasal", "otic", "oral", "intravenous",
        "subcutaneous", "intramuscular", "flush", "liposomal", "liposome", "lipid", "complex",
        "protein", "bound", "cholesteryl", "chloride", "and",
    }
)  # fmt: skip

_DOSE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ug|g|ml|units?|iu|%|mmol|meq)?(?:/\s*\w+)?\b")
_PARENS = re.compile(r"[(\[]([^)\]]*)[)\]]")
_SPACE = re.compile(r"\s+")
_SEPARATORS = re.compile(r"\s*(?:-|/|\+|,|;|&|\band\b|\bwith\b)\s*")
_PUNCT = re.compile(r"[^\w\s\-/+&,;]")
_TRAILING_QUALIFIER = re.compile(r"\s*\(([^()]*)\)$")
_WORD = re.compile(r"[^\W\d_]+")


def normalize(name: str) -> str:
    """Lower-case, unify unicode and collapse whitespace: the key every lookup starts from."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("_", " ")
    return _SPACE.sub(" ", text).strip()


def strip_forms(text: str, salts: bool = True) -> str:
    """Drop doses, dose forms and (optionally) salt words, unless nothing would remain."""
    text = _DOSE.sub(" ", text)
    text = _PUNCT.sub(" ", text)
    words = [word for word in text.split() if word not in FORM_WORDS] or text.split()
    if not salts:
        return " ".join(words)
    stripped = [word for word in words if word not in SALT_WORDS]
    return " ".join(stripped or words)


def candidates(name: str) -> list[str]:
    """Spellings to try in order: as written, without brackets, inside brackets, stripped."""
    text = normalize(name)
    outside = normalize(_PARENS.sub(" ", text))
    inside = [normalize(part) for part in _PARENS.findall(text)]
    found: list[str] = []
    for form in [text, outside, *inside]:
        for option in (form, strip_forms(form, salts=False), strip_forms(form)):
            if option and option not in found:
                found.append(option)
    return found


def split_combination(name: str) -> list[str]:
    """Split a combination product into its ingredient names (dose forms removed first)."""
    text = _DOSE.sub(" ", normalize(_PARENS.sub(" ", normalize(name))))
    text = " ".join(word for word in text.split() if word not in FORM_WORDS)
    return [part for part in _SEPARATORS.split(text) if part.strip()]


def merge_key(name: str) -> str:
    """The normalized name without a trailing route, salt or formulation qualifier.

    "Dexamethasone (ophthalmic)" and "Dexamethasone" share the key "dexamethasone"; so do
    "Manganese (sulfate)" and "Manganese (chloride)". Used to merge records of one source.
    """
    text = normalize(name)
    match = _TRAILING_QUALIFIER.search(text)
    if match is None:
        return text
    words = _WORD.findall(match.group(1))
    if words and all(word in QUALIFIER_WORDS for word in words):
        return text[: match.start()].strip() or text
    return text
