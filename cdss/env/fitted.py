"""The cohort generator's distributions, fitted offline from patient records and kept as JSON.

What is fitted (every part smoothed toward a clinical prior by pseudo-counts, so a small sample
moves the prior only as far as its evidence goes, and the file says how many records stood
behind each part):

- age (bins of `AGE_BINS`) and sex;
- the share of a patient's encounters in hospital, per age bracket (`AGE_BRACKETS`);
- the prevalence of each condition per age bracket (pregnancy among women aged 18-45);
- the number of current KB drugs per age bracket;
- which drugs are taken (counts, later mixed with the KB's `drug_weights` prior), which are
  taken together (pair counts) and which go with each condition (indications);
- each lab's value given age, sex, conditions and vitamin K antagonists: a Bayesian linear
  model on the lab's scale (log for INR and ALT) with the priors below.

Drugs are stored by canonical name, so a file fitted on one knowledge base serves another:
names the other KB lacks are dropped when the generator loads the file. Only records whose
licence allows it may be fitted into the shipped file (`SHIPPED_MODEL`, from the Apache-2.0
OHDSI dbt-synthea sample); `python -m cdss.env.synthea fit PATH --out FILE` refits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cdss.knowledge import CONDITIONS, LABS, PatientRecord

log = logging.getLogger(__name__)

FORMAT = 1
SHIPPED_MODEL = Path(__file__).resolve().parent / "data" / "generator_ohdsi_dbt27.json"
AGE_BINS: tuple[int, ...] = (18, 30, 40, 50, 60, 70, 80, 96)  # [18, 30), ..., [80, 95]
AGE_BRACKETS: tuple[int, ...] = (50, 70)  # under 50, 50-69, 70 and over
N_BRACKETS = len(AGE_BRACKETS) + 1
MAX_COUNT = 8  # most current drugs the count distribution describes
PREGNANCY_AGES = (18, 45)
VITAMIN_K_ANTAGONISTS = ("warfarin", "acenocoumarol", "phenprocoumon")

# Pseudo-records each prior is worth.
PRIOR_STRENGTH: dict[str, float] = {
    "age": 30.0,
    "female": 10.0,
    "hospital": 10.0,
    "conditions": 20.0,
    "drug_count": 20.0,
    "drugs": 50.0,  # pseudo drug rows spread by the KB's drug_weights
    "companions": 5.0,  # pseudo rows per anchor drug spread by the drug marginal
    "indications": 5.0,  # pseudo rows per condition spread over its prior drugs
    "treated": 10.0,
    "lab_noise": 10.0,  # pseudo observations behind each lab's prior noise sd
}
COMPANION_SHARE = 0.5  # slots after the first drawn beside a drug already held (not fitted)

# Share of adults with each condition before the age factor (rough primary-care figures).
PRIOR_PREVALENCE: dict[str, float] = {
    "ckd": 0.10,
    "asthma": 0.08,
    "copd": 0.05,
    "pregnancy": 0.08,  # among women aged 18-45 only
    "heart_failure": 0.03,
    "liver_disease": 0.03,
    "peptic_ulcer": 0.04,
    "angioedema_history": 0.01,
    "atrial_fibrillation": 0.04,
    "diabetes": 0.10,
    "hypertension": 0.25,
    "epilepsy": 0.01,
    "gout": 0.03,
    "bradycardia": 0.02,
    "long_qt_syndrome": 0.01,
}
# Conditions that grow with age: prior x0.5 under 50, x1 at 50-69, x2 from 70 (at most 0.9).
AGE_RELATED = frozenset(
    {"ckd", "copd", "heart_failure", "atrial_fibrillation", "diabetes", "hypertension", "gout",
     "bradycardia"}
)  # fmt: skip
_AGE_FACTOR = (0.5, 1.0, 2.0)
# Drugs a condition makes likely (names the KB lacks are ignored).
PRIOR_INDICATIONS: dict[str, tuple[str, ...]] = {
    "atrial_fibrillation": ("warfarin", "apixaban", "rivaroxaban", "digoxin", "amiodarone"),
    "heart_failure": ("furosemide", "bisoprolol", "carvedilol", "spironolactone", "lisinopril"),
    "hypertension": ("lisinopril", "ramipril", "amlodipine", "losartan", "hydrochlorothiazide"),
    "diabetes": ("metformin", "gliclazide", "empagliflozin", "insulin glargine"),
    "asthma": ("salbutamol", "budesonide", "formoterol", "montelukast"),
    "copd": ("salbutamol", "tiotropium", "formoterol"),
    "epilepsy": ("carbamazepine", "valproate", "levetiracetam", "phenytoin", "lamotrigine"),
    "gout": ("allopurinol", "colchicine"),
    "peptic_ulcer": ("omeprazole", "pantoprazole"),
    "ckd": ("furosemide", "calcium carbonate"),
}
PRIOR_TREATED = 0.8  # patients with a condition who take one of the drugs that treat it

# Lab models: value (on `transform`'s scale) = sum of coefficient x feature + noise.
LAB_FEATURES: tuple[str, ...] = (
    "intercept",  # a man of 60 without the conditions below
    "age_decades",  # (age - 60) / 10
    "female",
    "ckd",
    "heart_failure",
    "liver_disease",
    "long_qt_syndrome",
    "diabetes",
    "vka",  # takes a vitamin K antagonist
)
# Prior (mean, sd) per lab and feature (absent: 0 +/- 1e-3, i.e. no effect), the noise sd,
# an optional noise sd for patients on a VKA, the scale and the plausible range.
PRIOR_LABS: dict[str, dict[str, Any]] = {
    "egfr": {
        "transform": "identity",
        "coefficients": {"intercept": (79.0, 10.0), "age_decades": (-7.0, 3.0),
                         "female": (0.0, 5.0), "ckd": (-40.0, 10.0),
                         "heart_failure": (-5.0, 5.0), "diabetes": (-5.0, 5.0)},
        "noise_sd": 12.0,
        "range": (5.0, 130.0),
    },
    "potassium": {
        "transform": "identity",
        "coefficients": {"intercept": (4.3, 0.3), "age_decades": (0.0, 0.05),
                         "female": (0.0, 0.1), "ckd": (0.5, 0.2), "heart_failure": (0.2, 0.2),
                         "diabetes": (0.1, 0.1)},
        "noise_sd": 0.35,
        "range": (2.8, 6.8),
    },
    "inr": {
        "transform": "log",
        "coefficients": {"intercept": (0.0, 0.05), "liver_disease": (0.336, 0.1),
                         "vka": (0.955, 0.2)},
        "noise_sd": 0.08,
        "noise_sd_vka": 0.27,
        "range": (0.8, 6.0),
    },
    "qtc": {
        "transform": "identity",
        "coefficients": {"intercept": (420.0, 10.0), "age_decades": (2.0, 2.0),
                         "female": (8.0, 4.0), "long_qt_syndrome": (60.0, 15.0),
                         "heart_failure": (10.0, 5.0)},
        "noise_sd": 20.0,
        "range": (360.0, 600.0),
    },
    "alt": {
        "transform": "log",
        "coefficients": {"intercept": (3.178, 0.2), "female": (-0.2, 0.1),
                         "liver_disease": (1.52, 0.3)},
        "noise_sd": 0.4,
        "range": (5.0, 600.0),
    },
}  # fmt: skip
_NO_EFFECT = (0.0, 1e-3)


@dataclass(frozen=True)
class LabModel:
    """One lab's fitted linear model on its transform's scale."""

    transform: str  # "identity" | "log"
    coefficients: dict[str, float]  # by LAB_FEATURES name
    noise_sd: float
    noise_sd_vka: float | None
    range: tuple[float, float]
    n: int  # measured values behind the fit

    def vector(self) -> np.ndarray:
        return np.array([self.coefficients.get(name, 0.0) for name in LAB_FEATURES])


@dataclass(frozen=True)
class GeneratorModel:
    """Everything the generator draws from; see the module docstring."""

    source: dict[str, Any]  # what was fitted: folder name, file digests, patients
    age_bins: tuple[int, ...]
    age_probs: tuple[float, ...]
    female: float
    hospital: tuple[float, ...]  # per age bracket
    prevalence: dict[str, tuple[float, ...]]  # condition -> per age bracket
    drug_count: tuple[tuple[float, ...], ...]  # per age bracket, P(0..MAX_COUNT KB drugs)
    drug_counts: dict[str, float]  # patients taking each KB drug (by canonical name)
    companion_counts: dict[str, dict[str, float]]  # patients holding both, per pair
    companion_share: float
    indications: dict[str, dict[str, float]]  # condition -> drug -> weight (prior included)
    treated: dict[str, float]  # condition -> share taking one of its drugs
    labs: dict[str, LabModel]
    prior_strength: dict[str, float] = field(default_factory=lambda: dict(PRIOR_STRENGTH))

    def to_json(self) -> str:
        """The model as indented JSON (sorted keys, so a refit diffs cleanly)."""
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(_rounded(data), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GeneratorModel:
        data = json.loads(text)
        if data.pop("format", None) != FORMAT:
            raise ValueError(f"not a generator model of format {FORMAT}")
        labs = {name: LabModel(**{**lab, "range": tuple(lab["range"])})
                for name, lab in data.pop("labs").items()}  # fmt: skip
        model = cls(**data, labs=labs)
        model.check()
        return model

    def check(self) -> None:
        """Raise ValueError when a distribution does not sum to 1 or a key is unknown."""
        if set(self.prevalence) != set(CONDITIONS) or set(self.labs) != set(LABS):
            raise ValueError("the model must cover every condition and lab")
        pmfs = [self.age_probs, *self.drug_count]
        if any(abs(sum(p) - 1) > 1e-6 or min(p) < 0 for p in pmfs):
            raise ValueError("age and drug-count distributions must sum to 1")
        if len(self.age_probs) != len(self.age_bins) - 1 or len(self.hospital) != N_BRACKETS:
            raise ValueError("age bins or brackets do not match")

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        log.info("wrote generator model %s", path)
        return path


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits: the file stays small and stable across platforms."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def load_model(path: str | Path | None = None) -> GeneratorModel:
    """A fitted model from `path`, or the shipped one."""
    return GeneratorModel.from_json(Path(path or SHIPPED_MODEL).read_text(encoding="utf-8"))


# --- priors ---------------------------------------------------------------------------------


def bracket_of(age: np.ndarray) -> np.ndarray:
    """Age bracket per patient: 0 under 50, 1 at 50-69, 2 from 70."""
    return np.searchsorted(np.array(AGE_BRACKETS), age, side="right")


def prior_age() -> np.ndarray:
    """A normal(58, 18) age clipped to 18-95, over AGE_BINS."""
    edges = np.array(AGE_BINS, dtype=np.float64)
    cdf = np.array([0.5 * (1 + math.erf((x - 58.0) / (18.0 * math.sqrt(2)))) for x in edges])
    cdf[0], cdf[-1] = 0.0, 1.0  # the clipped tails fall into the end bins
    return np.diff(cdf)


def prior_prevalence(condition: str) -> tuple[float, ...]:
    base = PRIOR_PREVALENCE[condition]
    if condition not in AGE_RELATED:
        return (base,) * N_BRACKETS
    return tuple(min(base * factor, 0.9) for factor in _AGE_FACTOR)


def prior_drug_count(bracket: int) -> np.ndarray:
    """Poisson(0.5 + 0.06 (age - 18)) at the bracket's middle age, tail folded at MAX_COUNT."""
    middle = (35.0, 60.0, 80.0)[bracket]
    rate = 0.5 + 0.06 * (middle - 18)
    pmf = np.array([math.exp(-rate) * rate**k / math.factorial(k) for k in range(MAX_COUNT)])
    return np.append(pmf, max(0.0, 1.0 - pmf.sum()))


# --- fitting --------------------------------------------------------------------------------


def _smoothed(counts: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """Posterior mean of a categorical with a Dirichlet(strength x prior) prior."""
    total = counts.sum() + strength
    return (counts + strength * prior) / total


def _share(hits: float, n: float, prior: float, strength: float) -> float:
    return float((hits + strength * prior) / (n + strength))


def fit_model(
    records: Sequence[PatientRecord],
    hospital_share: Sequence[float] | np.ndarray | None = None,
    source: Mapping[str, Any] | None = None,
) -> GeneratorModel:
    """Fit every distribution of the generator to adult `records` (see the module docstring).

    `hospital_share` is each patient's share of encounters in hospital (default 0).
    """
    records = [r for r in records if r.age >= AGE_BINS[0]]
    n = len(records)
    ages = np.array([min(r.age, AGE_BINS[-1] - 1) for r in records], dtype=np.int64)
    brackets = bracket_of(ages)
    female = np.array([r.sex.upper().startswith("F") for r in records], dtype=bool)
    hospital = np.zeros(n) if hospital_share is None else np.asarray(hospital_share, float)[:n]
    strength = PRIOR_STRENGTH

    age_counts = np.bincount(np.searchsorted(AGE_BINS, ages, side="right") - 1,
                             minlength=len(AGE_BINS) - 1).astype(np.float64)  # fmt: skip
    age_probs = _smoothed(age_counts, prior_age(), strength["age"])
    hospital_by_bracket = tuple(
        _share(hospital[brackets == b].sum(), (brackets == b).sum(), 0.05, strength["hospital"])
        for b in range(N_BRACKETS)
    )
    prevalence = _fit_prevalence(records, brackets, female, ages)
    drug_count = []
    for b in range(N_BRACKETS):
        held = [min(len(r.drugs), MAX_COUNT) for r, rb in zip(records, brackets, strict=True)
                if rb == b]  # fmt: skip
        counts = np.bincount(held, minlength=MAX_COUNT + 1).astype(np.float64)
        drug_count.append(tuple(_smoothed(counts, prior_drug_count(b), strength["drug_count"])))

    drug_counts = Counter(drug for r in records for drug in set(r.drugs))
    companions: dict[str, Counter[str]] = {}
    for record in records:
        taken = sorted(set(record.drugs))
        for first in taken:
            for second in taken:
                if first != second:
                    companions.setdefault(first, Counter())[second] += 1
    indications, treated = _fit_indications(records, drug_counts)
    model = GeneratorModel(
        source=dict(source or {}) | {"patients": n},
        age_bins=AGE_BINS,
        age_probs=tuple(age_probs),
        female=_share(female.sum(), n, 0.5, strength["female"]),
        hospital=hospital_by_bracket,
        prevalence=prevalence,
        drug_count=tuple(drug_count),
        drug_counts={drug: float(k) for drug, k in sorted(drug_counts.items())},
        companion_counts={
            drug: {partner: float(k) for partner, k in sorted(partners.items())}
            for drug, partners in sorted(companions.items())
        },
        companion_share=COMPANION_SHARE,
        indications=indications,
        treated=treated,
        labs={lab: _fit_lab(lab, records) for lab in LABS},
    )
    model.check()
    return model


def _fit_prevalence(
    records: Sequence[PatientRecord], brackets: np.ndarray, female: np.ndarray, ages: np.ndarray
) -> dict[str, tuple[float, ...]]:
    has = np.array([[c in r.conditions for c in CONDITIONS] for r in records], dtype=bool)
    has = has.reshape(len(records), len(CONDITIONS))
    fertile = female & (ages >= PREGNANCY_AGES[0]) & (ages <= PREGNANCY_AGES[1])
    prevalence = {}
    for j, condition in enumerate(CONDITIONS):
        prior = prior_prevalence(condition)
        if condition == "pregnancy":  # one rate among women aged 18-45, whatever the bracket
            rate = _share(has[fertile, j].sum(), fertile.sum(), prior[0], PRIOR_STRENGTH[
                "conditions"])  # fmt: skip
            prevalence[condition] = (rate,) * N_BRACKETS
            continue
        prevalence[condition] = tuple(
            _share(has[brackets == b, j].sum(), (brackets == b).sum(), prior[b],
                   PRIOR_STRENGTH["conditions"])
            for b in range(N_BRACKETS)
        )  # fmt: skip
    return prevalence


def _fit_indications(
    records: Sequence[PatientRecord], drug_counts: Counter[str]
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per condition: drug weights (prior drugs plus drugs over-represented among patients
    with the condition, seen at least twice) and the share of patients taking one of them."""
    n = max(len(records), 1)
    indications: dict[str, dict[str, float]] = {}
    treated: dict[str, float] = {}
    for condition in CONDITIONS:
        prior_drugs = PRIOR_INDICATIONS.get(condition, ())
        with_condition = [r for r in records if condition in r.conditions]
        held = Counter(drug for r in with_condition for drug in set(r.drugs))
        chosen = {
            drug: float(k)
            for drug, k in held.items()
            if drug in prior_drugs or (k >= 2 and k / len(with_condition) > drug_counts[drug] / n)
        }
        weights = dict.fromkeys(prior_drugs, 0.0) | chosen
        for drug in prior_drugs:
            weights[drug] += PRIOR_STRENGTH["indications"] / len(prior_drugs)
        if weights:
            indications[condition] = dict(sorted(weights.items()))
        hits = sum(any(drug in chosen for drug in r.drugs) for r in with_condition)
        prior = PRIOR_TREATED if weights else 0.0
        treated[condition] = _share(hits, len(with_condition), prior, PRIOR_STRENGTH["treated"])
    return indications, treated


def lab_features(record: PatientRecord) -> np.ndarray:
    """The LAB_FEATURES row of one record."""
    values = {
        "intercept": 1.0,
        "age_decades": (record.age - 60) / 10,
        "female": float(record.sex.upper().startswith("F")),
        "vka": float(any(d in VITAMIN_K_ANTAGONISTS for d in record.drugs)),
    }
    values.update({c: float(c in record.conditions) for c in LAB_FEATURES if c in CONDITIONS})
    return np.array([values[name] for name in LAB_FEATURES])


def _fit_lab(lab: str, records: Sequence[PatientRecord]) -> LabModel:
    """Posterior mean of the coefficients (known noise), then the noise sd shrunk to its prior."""
    prior = PRIOR_LABS[lab]
    means = np.array([prior["coefficients"].get(f, _NO_EFFECT)[0] for f in LAB_FEATURES])
    sds = np.array([prior["coefficients"].get(f, _NO_EFFECT)[1] for f in LAB_FEATURES])
    measured = [r for r in records if lab in r.labs]
    x = np.array([lab_features(r) for r in measured]).reshape(len(measured), len(LAB_FEATURES))
    y = np.array([r.labs[lab] for r in measured], dtype=np.float64)
    if prior["transform"] == "log":
        y = np.log(np.maximum(y, 1e-3))
    vka = x[:, LAB_FEATURES.index("vka")] > 0
    noise = np.where(vka, prior.get("noise_sd_vka") or prior["noise_sd"], prior["noise_sd"])

    precision = np.diag(1 / sds**2) + (x / noise[:, None] ** 2).T @ x
    coefficients = np.linalg.solve(precision, means / sds**2 + (x / noise[:, None] ** 2).T @ y)
    residuals = y - x @ coefficients
    weight = PRIOR_STRENGTH["lab_noise"]

    def shrunk(prior_sd: float, rows: np.ndarray) -> float:
        return float(np.sqrt((weight * prior_sd**2 + (residuals[rows] ** 2).sum())
                             / (weight + rows.sum())))  # fmt: skip

    vka_sd = prior.get("noise_sd_vka")
    return LabModel(
        transform=prior["transform"],
        coefficients={f: float(c) for f, c in zip(LAB_FEATURES, coefficients, strict=True)},
        noise_sd=shrunk(prior["noise_sd"], ~vka),
        noise_sd_vka=None if vka_sd is None else shrunk(vka_sd, vka),
        range=tuple(prior["range"]),
        n=len(measured),
    )


def file_digests(folder: str | Path, names: Sequence[str]) -> dict[str, str]:
    """sha256 of each named file of a folder, to say exactly what a model was fitted on."""
    folder = Path(folder)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}
