"""Intervals, paired tests and Holm's correction against scipy and worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cdss.report.stats import holm, mean_ci, paired_test


def test_mean_ci_is_scipy_t_interval() -> None:
    values = [0.71, 0.74, 0.69, 0.77, 0.72]
    interval = mean_ci(values)
    low, high = stats.t.interval(0.95, df=4, loc=np.mean(values), scale=stats.sem(values))
    assert interval.n == 5
    assert interval.mean == pytest.approx(np.mean(values))
    assert (interval.low, interval.high) == pytest.approx((low, high))


def test_mean_ci_ignores_undefined_values() -> None:
    interval = mean_ci([0.5, math.nan, 0.7])
    assert interval.n == 2
    assert interval.mean == pytest.approx(0.6)


def test_one_value_has_a_mean_but_no_interval() -> None:
    interval = mean_ci([0.42])
    assert interval.mean == 0.42 and interval.n == 1 and not interval.defined
    assert math.isnan(interval.low) and math.isnan(interval.high)


def test_identical_values_give_a_zero_width_interval_not_nan() -> None:
    interval = mean_ci([0.25, 0.25, 0.25])
    assert (interval.low, interval.mean, interval.high) == (0.25, 0.25, 0.25)


def test_holm_on_a_worked_example() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06.
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_skips_tests_not_run() -> None:
    adjusted = holm([0.4, math.nan, 0.3, 0.9])
    # m = 3: 0.3*3 = 0.9, 0.4*2 = 0.8 -> 0.9, 0.9*1 = 0.9.
    assert adjusted[[0, 2, 3]] == pytest.approx([0.9, 0.9, 0.9])
    assert math.isnan(adjusted[1])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0


def test_holm_matches_its_definition_on_random_p_values() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.2, size=12)
    order = np.argsort(p)
    m = len(p)
    expected = np.empty(m)
    for rank, index in enumerate(order):
        expected[index] = min(1.0, max((m - j) * p[order[j]] for j in range(rank + 1)))
    assert holm(p) == pytest.approx(expected)


def test_paired_test_matches_scipy() -> None:
    a = np.array([0.81, 0.79, 0.84, 0.80, 0.83])
    b = np.array([0.74, 0.75, 0.80, 0.71, 0.79])
    result = paired_test(a, b)
    d = a - b
    assert result.n == 5 and result.note == ""
    assert result.mean_diff == pytest.approx(d.mean())
    low, high = stats.t.interval(0.95, df=4, loc=d.mean(), scale=stats.sem(d))
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.t_p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert result.wilcoxon_p == pytest.approx(stats.wilcoxon(d).pvalue)
    assert result.cohens_dz == pytest.approx(d.mean() / d.std(ddof=1))


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ([], [], "no seed"),
        ([0.8], [0.7], "1 paired seed"),
        ([0.8, 0.9, 0.7], [0.7, 0.8, 0.6], "same for every seed"),
    ],
)
def test_paired_test_says_why_there_is_no_test(a: list, b: list, reason: str) -> None:
    result = paired_test(a, b)
    assert reason in result.note and result.note.startswith("no test")
    assert math.isnan(result.t_p) and math.isnan(result.wilcoxon_p)
    assert math.isnan(result.cohens_dz)


def test_paired_test_rejects_unaligned_samples() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_test([0.1, 0.2], [0.1])
