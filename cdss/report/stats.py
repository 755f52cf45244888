"""Statistics across training seeds: Student-t intervals, paired tests, Holm's correction.

Training seeds are the replicates of the study, so every interval is across seeds, never across
the orders of one cohort. Where a quantity is undefined (one seed, no variance) the result holds
NaN and a note saying why; the report turns those into words, never into printed numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95

# Paired differences whose spread is below this (relative to their size) are treated as constant:
# a t statistic over them would be rounding noise divided by rounding noise.
_CONSTANT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Interval:
    """A mean across seeds with its confidence bounds; bounds are NaN below two seeds."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def defined(self) -> bool:
        return self.n >= 2


def finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """The defined values: a metric a run did not log (an undefined rate) arrives as NaN."""
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Mean and Student-t interval with n - 1 degrees of freedom over the defined values."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1)
    sem = float(stats.sem(x))
    if sem == 0.0:
        # Identical values (a deterministic policy on the same cohort): the interval has zero
        # width, which scipy would return as NaN.
        return Interval(mean, mean, mean, n)
    low, high = stats.t.interval(confidence, df=n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n)


@dataclass(frozen=True)
class PairedTest:
    """One comparison of two algorithms over the seeds they share; `note` says why a test is
    missing and is empty when both tests ran."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    t_p: float
    wilcoxon_p: float
    cohens_dz: float
    note: str


def paired_test(
    first: Sequence[float] | np.ndarray,
    second: Sequence[float] | np.ndarray,
    confidence: float = CONFIDENCE,
) -> PairedTest:
    """Difference first - second paired by seed: t interval, t-test, Wilcoxon, Cohen's d_z.

    The inputs are aligned (same seed at the same position) and hold no NaN.
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    differences = a - b
    n = len(differences)
    if n == 0:
        return _untested(
            0,
            Interval(math.nan, math.nan, math.nan, 0),
            "no test: no seed ran both on the same test cohort",
        )
    interval = mean_ci(differences, confidence)
    if n == 1:
        return _untested(1, interval, "no test: 1 paired seed, a test needs at least 2")
    spread = float(np.ptp(differences))
    if spread <= _CONSTANT_TOLERANCE * max(1.0, abs(interval.mean)):
        return _untested(
            n, interval, "no test: the difference is the same for every seed (no variance)"
        )
    t_p = float(stats.ttest_rel(a, b).pvalue)
    wilcoxon_p = float(stats.wilcoxon(differences).pvalue)
    cohens_dz = float(differences.mean() / differences.std(ddof=1))
    return PairedTest(n, interval.mean, interval.low, interval.high, t_p, wilcoxon_p, cohens_dz, "")


def _untested(n: int, interval: Interval, note: str) -> PairedTest:
    return PairedTest(
        n, interval.mean, interval.low, interval.high, math.nan, math.nan, math.nan, note
    )


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order.

    Sorted ascending, the k-th smallest of m p-values is multiplied by m - k + 1, capped at 1 and
    made monotone. NaN entries are tests that did not run: they stay NaN and do not count in m.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    running = 0.0
    for rank, index in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * float(p[index])))
        adjusted[index] = running
    return adjusted
