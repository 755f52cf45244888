"""The report's tables: per-group summaries across seeds and paired comparisons of algorithms.

Each table exists twice: numeric (for CSV, NaN where a number is undefined) and formatted as
text (for Markdown and HTML, where an undefined number becomes the reason it is undefined).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any, cast

import pandas as pd

from cdss.report.runs import ALGO, MISSING, SEED, Study, natural_key, short_name
from cdss.report.stats import holm, mean_ci, paired_test

# Metric (without its eval/ prefix) and its label, in table order.
TABLE_METRICS: dict[str, str] = {
    "detection_rate": "detection rate",
    "false_alert_rate": "false alert rate",
    "alert_precision": "alert precision",
    "decision_accuracy": "decision accuracy",
    "mean_return": "mean return",
    "requests_per_order": "requests per order",
}
# Summarized for the plots and the CSV, beside the table's metrics.
EXTRA_METRICS: dict[str, str] = {"alerts_per_100": "alerts per 100 orders"}
PREFIX = "eval/"
_DIGITS = {"mean_return": 2, "requests_per_order": 2, "alerts_per_100": 1}
ONE_SEED = "n/a (1 seed)"
UNDEFINED = "undefined"
DASH = "\u2013"  # an empty cell: the note or the text says why


def group_columns(study: Study) -> list[str]:
    """The columns one group of the summary is keyed on: setting, missing rate, algorithm."""
    context = [k for k in study.keys if k not in study.arm_keys and k != MISSING]
    missing = [MISSING] if MISSING in study.keys else []
    return [*context, *missing, "algorithm"]


def summarize(
    study: Study, metrics: Iterable[str] = (*TABLE_METRICS, *EXTRA_METRICS)
) -> pd.DataFrame:
    """Per group: every key, n seeds, and each metric's mean, CI bounds and seeds defined."""
    columns = group_columns(study)
    rows = []
    for _, block in study.runs.groupby(columns, sort=False):
        first = block.iloc[0]
        row: dict[str, object] = {key: first[key] for key in (*study.keys, "algorithm")}
        row["n_seeds"] = len(block)
        for metric in metrics:
            values = block.get(PREFIX + metric, pd.Series(math.nan, index=block.index))
            interval = mean_ci(values.to_numpy(dtype=float))
            row[f"{metric}_mean"] = interval.mean
            row[f"{metric}_ci_low"] = interval.low
            row[f"{metric}_ci_high"] = interval.high
            row[f"{metric}_n"] = interval.n
        rows.append(row)
    return pd.DataFrame(rows, columns=_summary_columns(study, metrics))


def _summary_columns(study: Study, metrics: Iterable[str]) -> list[str]:
    stats_columns = [f"{m}_{part}" for m in metrics for part in ("mean", "ci_low", "ci_high", "n")]
    return [*study.keys, "algorithm", "n_seeds", *stats_columns]


def compare(study: Study, metrics: Iterable[str] = TABLE_METRICS) -> pd.DataFrame:
    """Every pair of algorithms at each missing rate and setting, paired by seed and cohort.

    Holm's correction runs within each family: all pairs at one missing rate, in one setting,
    for one metric.
    """
    family_columns = [c for c in group_columns(study) if c != "algorithm"]
    rows: list[dict[str, object]] = []
    for _, block in study.runs.groupby(family_columns, sort=False):
        arms = sorted(block["algorithm"].unique(), key=natural_key)
        for metric in metrics:
            family = [
                _pair_row(block, family_columns, metric, first, second)
                for first, second in combinations(arms, 2)
            ]
            for kind in ("t", "wilcoxon"):
                adjusted = holm([cast(float, row[f"{kind}_p"]) for row in family])
                for row, value in zip(family, adjusted, strict=True):
                    row[f"{kind}_p_holm"] = value
            rows.extend(family)
    columns = [
        *family_columns,
        "metric",
        "first",
        "second",
        "n_pairs",
        "mean_diff",
        "ci_low",
        "ci_high",
        "t_p",
        "t_p_holm",
        "wilcoxon_p",
        "wilcoxon_p_holm",
        "cohens_dz",
        "note",
    ]
    return pd.DataFrame(rows, columns=columns)


def _pair_row(
    block: pd.DataFrame, family_columns: Sequence[str], metric: str, first: str, second: str
) -> dict[str, object]:
    values = {}
    for arm in (first, second):
        runs = block[block["algorithm"] == arm].set_index([SEED, "cohort"])
        column = runs.get(PREFIX + metric, pd.Series(math.nan, index=runs.index))
        values[arm] = column.dropna()
    common = values[first].index.intersection(values[second].index)
    result = paired_test(values[first][common].to_numpy(), values[second][common].to_numpy())
    row: dict[str, object] = {c: block.iloc[0][c] for c in family_columns}
    row.update(
        metric=metric,
        first=first,
        second=second,
        n_pairs=result.n,
        mean_diff=result.mean_diff,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        t_p=result.t_p,
        wilcoxon_p=result.wilcoxon_p,
        cohens_dz=result.cohens_dz,
        note=result.note,
    )
    return row


# -- text --------------------------------------------------------------------------------------


def format_interval(metric: str, mean: float, low: float, high: float, n: int, n_seeds: int) -> str:
    """'0.812 [0.790, 0.834]'; words instead of numbers where the interval is undefined."""
    digits = _DIGITS.get(metric, 3)
    if n == 0:
        return f"{UNDEFINED} (not logged by any seed)"
    if n == 1:
        text = f"{mean:.{digits}f}, {ONE_SEED}"
    else:
        text = f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
    if n < n_seeds:
        text += f" ({n} of {n_seeds} seeds defined)"
    return text


def format_summary(summary: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The summary as text: setting, missing rate, algorithm, n seeds, one cell per metric."""
    keys = group_columns(study)
    table = pd.DataFrame({_header(k): summary[k].astype(str) for k in keys})
    table["n seeds"] = summary["n_seeds"].astype(int).astype(str)
    for metric, label in TABLE_METRICS.items():
        table[label] = [
            format_interval(
                metric,
                r[f"{metric}_mean"],
                r[f"{metric}_ci_low"],
                r[f"{metric}_ci_high"],
                int(r[f"{metric}_n"]),
                int(r["n_seeds"]),
            )
            for r in summary.to_dict("records")
        ]
    return table


def format_p(value: float) -> str:
    if not math.isfinite(value):
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def format_comparisons(comparisons: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's comparisons as text; a pair without a test says why in `note`."""
    rows = comparisons[comparisons["metric"] == metric]
    digits = _DIGITS.get(metric, 3)
    keys = [c for c in comparisons.columns[: list(comparisons.columns).index("metric")]]
    table = pd.DataFrame({_header(k): rows[k].astype(str) for k in keys})
    table["first - second"] = rows["first"] + " - " + rows["second"]
    table["paired seeds"] = rows["n_pairs"].astype(int).astype(str)
    table["mean difference [95% CI]"] = [
        _format_difference(r, digits) for r in rows.to_dict("records")
    ]
    table["t-test p (Holm)"] = [
        f"{format_p(r['t_p'])} ({format_p(r['t_p_holm'])})" if math.isfinite(r["t_p"]) else DASH
        for r in rows.to_dict("records")
    ]
    table["Wilcoxon p (Holm)"] = [
        f"{format_p(r['wilcoxon_p'])} ({format_p(r['wilcoxon_p_holm'])})"
        if math.isfinite(r["wilcoxon_p"])
        else DASH
        for r in rows.to_dict("records")
    ]
    table["d_z"] = [f"{v:+.2f}" if math.isfinite(v) else DASH for v in rows["cohens_dz"]]
    table["note"] = rows["note"].replace("", DASH)
    return table.reset_index(drop=True)


def _format_difference(row: Mapping[str, Any], digits: int) -> str:
    n = int(row["n_pairs"])
    mean, low, high = (float(row[k]) for k in ("mean_diff", "ci_low", "ci_high"))
    if n == 0:
        return DASH
    if n == 1:
        return f"{mean:+.{digits}f}, {ONE_SEED}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def _header(key: str) -> str:
    if key == MISSING:
        return "missing %"
    if key == ALGO:
        return "algorithm"
    return short_name(key)
