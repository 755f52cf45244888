"""Learners against the rule baselines over training seeds: the best learner, paired t-tests.

Every agent is evaluated on the same test cohort, so the figures of one seed pair up across
agents; a baseline does not depend on the training seed, yet pairing by seed keeps the test
the one the study uses (`scipy.stats.ttest_rel`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEARNERS: tuple[str, ...] = ("q", "sarsa", "expected_sarsa", "double_q")
_CONSTANT = 1e-12  # relative spread below which a paired difference counts as constant
BASELINES: tuple[str, ...] = ("rule_based", "cautious_rule")
ALPHA = 0.05

# (metric, baseline, direction the learner must beat it in): DESIGN.md's case for learning.
CHECKS: tuple[tuple[str, str, str], ...] = (
    ("mean_return", "rule_based", "higher"),
    ("mean_return", "cautious_rule", "higher"),
    ("detection_rate", "rule_based", "higher"),
    ("false_alert_rate", "cautious_rule", "lower"),
)

# metrics[algorithm][seed] -> the test-cohort metrics of that job
Results = Mapping[str, Mapping[int, Mapping[str, float]]]


@dataclass(frozen=True)
class Comparison:
    """One check of the best learner against one baseline on one metric."""

    metric: str
    learner: str
    baseline: str
    direction: str  # "higher" or "lower": what the learner must be
    learner_mean: float
    baseline_mean: float
    t: float
    p_value: float
    n_seeds: int
    constant: bool = False  # the same difference for every seed: t is infinite

    @property
    def difference(self) -> float:
        return self.learner_mean - self.baseline_mean

    @property
    def holds(self) -> bool:
        """The difference points the required way and is significant at ALPHA."""
        right_way = self.difference > 0 if self.direction == "higher" else self.difference < 0
        return right_way and self.p_value < ALPHA


def values(results: Results, algorithm: str, metric: str, seeds: Sequence[int]) -> np.ndarray:
    """One metric of one algorithm, in the order of `seeds`."""
    return np.array([results[algorithm][seed][metric] for seed in seeds], dtype=np.float64)


def best_learner(results: Results, learners: Sequence[str] = LEARNERS) -> str:
    """The learner with the highest mean test return across its seeds."""
    present = [name for name in learners if name in results]
    if not present:
        raise ValueError(f"no learner among {list(learners)} in the results")
    return max(
        present, key=lambda name: np.mean([m["mean_return"] for m in results[name].values()])
    )


def constant_difference(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the paired difference is the same for every seed (up to rounding)."""
    differences = np.asarray(first, dtype=float) - np.asarray(second, dtype=float)
    return bool(np.ptp(differences) <= _CONSTANT * max(1.0, abs(float(differences.mean()))))


def paired_t(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """`scipy.stats.ttest_rel` (two-sided). A difference that is the same for every seed has no
    variance: scipy reports t = +-inf and p = 0 for it, and so does this, also when rounding
    leaves a spread of 1e-16 that would make t merely huge."""
    if constant_difference(first, second):
        mean = float(np.mean(np.asarray(first, dtype=float) - np.asarray(second, dtype=float)))
        return (math.copysign(math.inf, mean), 0.0) if mean else (math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Precision loss occurred", category=RuntimeWarning
        )
        result = stats.ttest_rel(first, second)
    return float(result.statistic), float(result.pvalue)


def compare_with_baselines(
    results: Results,
    learners: Sequence[str] = LEARNERS,
    checks: Sequence[tuple[str, str, str]] = CHECKS,
) -> tuple[str, list[Comparison]]:
    """The best learner and its paired comparisons with the baselines over shared seeds."""
    best = best_learner(results, learners)
    comparisons = []
    for metric, baseline, direction in checks:
        seeds = sorted(set(results[best]) & set(results[baseline]))
        ours, theirs = (
            values(results, best, metric, seeds),
            values(results, baseline, metric, seeds),
        )
        t, p = paired_t(ours, theirs) if len(seeds) > 1 else (math.nan, math.nan)
        comparisons.append(
            Comparison(
                metric,
                best,
                baseline,
                direction,
                float(ours.mean()),
                float(theirs.mean()),
                t,
                p,
                len(seeds),
                constant=len(seeds) > 1 and constant_difference(ours, theirs),
            )
        )
    return best, comparisons


def markdown_table(missing: int, results: Results, comparisons: Sequence[Comparison]) -> str:
    """Mean (sd) per agent of the compared metrics, then each check with its p-value."""
    metrics = ("mean_return", "detection_rate", "false_alert_rate", "requests_per_order")
    lines = [
        f"missing {missing}%: mean (sd) over {len(next(iter(results.values())))} training seeds",
        "",
        "| agent | " + " | ".join(metrics) + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    for name in results:
        cells = []
        for metric in metrics:
            column = [m[metric] for m in results[name].values()]
            cells.append(f"{np.mean(column):.3f} ({np.std(column, ddof=1):.3f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| check | learner | baseline | difference | t | p (ttest_rel) | holds |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in comparisons:
        check = f"{c.learner} {c.direction} {c.metric} than {c.baseline}"
        t = f"{c.t:.2f}" + ("*" if c.constant else "")
        lines.append(
            f"| {check} | {c.learner_mean:.3f} | {c.baseline_mean:.3f} | {c.difference:+.3f} | "
            f"{t} | {c.p_value:.2g} | {'yes' if c.holds else 'NO'} |"
        )
    if any(c.constant for c in comparisons):
        lines += ["", "\\* the same difference for every seed: no variance, t is infinite"]
    return "\n".join(lines)
