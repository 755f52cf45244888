"""Free-text conditions ("chronic kidney disease stage 3a") to the keys of CONDITIONS."""

from __future__ import annotations

import re

from cdss.knowledge.names import normalize

# Checked in order; the first key with a matching pattern wins. Patterns are whole-word
# regular expressions on the lower-cased text.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("long_qt_syndrome", (r"long qt", r"lqts", r"prolonged qt(c)? syndrome")),
    ("pregnancy", (r"pregnan\w*", r"weeks'? gestation", r"gravid\w*", r"antenatal", r"trimester")),
    ("angioedema_history", (r"angio-?o?edema",)),
    ("heart_failure", (r"heart failure", r"cardiac failure", r"hfref", r"hfpef", r"hfmref",
                       r"chf", r"ccf", r"congestive cardiac", r"cardiomyopathy with reduced",
                       r"left ventricular systolic dysfunction", r"lvsd")),
    ("ckd", (r"chronic kidney", r"chronic renal", r"ckd", r"renal (impairment|insufficiency)",
             r"kidney (impairment|insufficiency)", r"(diabetic )?nephropathy", r"esrd",
             r"end-?stage (renal|kidney)", r"renal failure", r"kidney failure", r"dialysis")),
    ("liver_disease", (r"liver disease", r"cirrho\w*", r"hepatitis", r"hepatic (impairment|"
                       r"insufficiency|failure|disease)", r"liver failure", r"fatty liver",
                       r"nafld", r"nash", r"masld", r"mash", r"steatohepatitis")),
    ("peptic_ulcer", (r"peptic ulcer\w*", r"gastric ulcer\w*", r"duodenal ulcer\w*", r"pud",
                      r"(upper )?gi (bleed|haemorrhage|hemorrhage)\w*",
                      r"gastrointestinal (bleed|haemorrhage|hemorrhage)\w*", r"ulcer disease")),
    ("copd", (r"copd", r"chronic obstructive", r"emphysema", r"chronic bronchitis")),
    ("asthma", (r"asthma\w*", r"reactive airway\w*")),
    ("atrial_fibrillation", (r"atrial fibrillation", r"atrial flutter", r"a-?fib", r"af",
                             r"paroxysmal af")),
    ("bradycardia", (r"bradycardi\w*", r"sick sinus", r"(sinus|av|atrioventricular) block",
                     r"heart block", r"sinus node dysfunction")),
    ("diabetes", (r"(?<!gestational )(?<!pre-)diabet(es|ic)(?! insipidus)", r"t[12]dm",
                  r"dm type [12]", r"niddm", r"iddm")),
    ("hypertension", (r"(?<!pulmonary )(?<!portal )(?<!intracranial )(?<!ocular )"
                      r"hypertension", r"high blood pressure", r"htn")),
    ("epilepsy", (r"epilep\w*", r"seizure disorder", r"seizures")),
    ("gout", (r"gout\w*", r"gouty")),
)  # fmt: skip

_PATTERNS = tuple(
    (key, re.compile(r"\b(?:" + "|".join(patterns) + r")\b")) for key, patterns in _KEYWORDS
)
_NEGATION = re.compile(r"^(no|not|denies|without|negative for|ruled out|r/o|rule out)\b")


def map_condition(text: str) -> str | None:
    """The CONDITIONS key a free-text condition names, or None when none matches.

    Keyword matching on whole words, so "type 2 diabetes" is `diabetes` but "diabetes
    insipidus" and "pulmonary hypertension" are not. Text that starts with a negation
    ("no history of asthma") maps to None.
    """
    normalized = normalize(text)
    if _NEGATION.match(normalized):
        return None
    for key, pattern in _PATTERNS:
        if pattern.search(normalized):
            return key
    return None
