"""The report's figures, built as `Figure` objects on an Agg canvas.

No pyplot: a library must not switch the caller's backend or leave figures open in pyplot's
global registry. Each function returns the figure, so tests can read its axes and legends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from cdss.report.runs import MISSING, natural_key
from cdss.report.stats import CONFIDENCE

BAND_ALPHA = 0.2
MISSING_LABEL = "missing facts (%)"


def new_figure(n_panels: int = 1, width: float = 6.0, height: float = 4.2) -> Figure:
    figure = Figure(figsize=(width * n_panels, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def arm_colors(arms: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """One stable color per algorithm, so every figure of a report agrees."""
    palette = colormaps["tab10" if len(arms) <= 10 else "tab20"]
    ordered = sorted(set(arms), key=natural_key)
    return {arm: tuple(palette(i % palette.N)) for i, arm in enumerate(ordered)}


def _missing_axis(rows: pd.DataFrame) -> pd.Series:
    return (
        pd.to_numeric(rows[MISSING], errors="coerce")
        if MISSING in rows
        else pd.Series(0.0, index=rows.index)
    )


def robustness_figure(
    summary: pd.DataFrame, title: str, colors: Mapping[str, tuple[float, ...]] | None = None
) -> Figure:
    """Detection and false alert rate against the missing rate: the robustness curve.

    One line per algorithm with its confidence band across seeds; a group with one seed has
    a point but no band.
    """
    arms = sorted(summary["algorithm"].unique(), key=natural_key)
    colors = colors or arm_colors(arms)
    figure = new_figure(2)
    axes = figure.subplots(1, 2)
    for ax, metric, label in zip(
        axes,
        ("detection_rate", "false_alert_rate"),
        ("detection rate (severe orders flagged)", "false alert rate (safe orders flagged)"),
        strict=True,
    ):
        for arm in arms:
            rows = summary[summary["algorithm"] == arm].assign(x=_missing_axis)
            rows = rows.sort_values("x")
            _line_with_band(
                ax,
                rows["x"],
                rows[f"{metric}_mean"],
                rows[f"{metric}_ci_low"],
                rows[f"{metric}_ci_high"],
                arm,
                colors[arm],
            )
        ax.set_xlabel(MISSING_LABEL)
        ax.set_ylabel(label)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(label.split(" (")[0])
        ax.grid(alpha=0.3)
        ax.legend(title="algorithm", fontsize="small")
    figure.suptitle(title)
    return figure


def _line_with_band(
    ax: Axes,
    x: pd.Series,
    mean: pd.Series,
    low: pd.Series,
    high: pd.Series,
    label: str,
    color: tuple[float, ...],
    marker: str = "o",
) -> None:
    ax.plot(x.to_numpy(), mean.to_numpy(), marker=marker, label=label, color=color)
    defined = np.isfinite(low.to_numpy(dtype=float)) & np.isfinite(high.to_numpy(dtype=float))
    if defined.any():
        ax.fill_between(
            x.to_numpy(),
            low.to_numpy(dtype=float),
            high.to_numpy(dtype=float),
            where=defined,
            color=color,
            alpha=BAND_ALPHA,
            linewidth=0,
        )


def learning_curves_figure(
    curves: Mapping[str, Mapping[str, Sequence[pd.Series]]],
    title: str,
    colors: Mapping[str, tuple[float, ...]] | None = None,
) -> Figure:
    """Training return by episode, one panel per missing rate, one line per algorithm.

    `curves` maps a panel title to algorithm to the curves of its seeds (value by episode).
    The band is the confidence interval across seeds where at least two seeds have the point.
    """
    arms = sorted({arm for panel in curves.values() for arm in panel}, key=natural_key)
    colors = colors or arm_colors(arms)
    figure = new_figure(max(1, len(curves)), width=5.0)
    axes = np.atleast_1d(figure.subplots(1, max(1, len(curves))))
    for ax, (panel, by_arm) in zip(axes, curves.items(), strict=False):
        for arm in sorted(by_arm, key=natural_key):
            mean, low, high = _band_across_seeds(by_arm[arm])
            _line_with_band(
                ax,
                pd.Series(mean.index),
                mean.reset_index(drop=True),
                low.reset_index(drop=True),
                high.reset_index(drop=True),
                arm,
                colors[arm],
                marker="",
            )
        ax.set_xlabel("training episode")
        ax.set_ylabel("episode return (binned mean)")
        ax.set_title(panel)
        ax.grid(alpha=0.3)
        ax.legend(title="algorithm", fontsize="small")
    figure.suptitle(title)
    return figure


def _band_across_seeds(seeds: Sequence[pd.Series]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Mean and t interval per step over the seeds that logged that step."""
    table = pd.concat(list(seeds), axis=1).sort_index()
    n = table.notna().sum(axis=1)
    mean = table.mean(axis=1)
    low = pd.Series(math.nan, index=table.index)
    high = low.copy()
    several = n >= 2
    if several.any():
        sem = table[several].std(axis=1, ddof=1) / np.sqrt(n[several])
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n[several] - 1) * sem
        low[several] = mean[several] - half
        high[several] = mean[several] + half
    return mean, low, high


def alerts_figure(
    summary: pd.DataFrame, title: str, colors: Mapping[str, tuple[float, ...]] | None = None
) -> Figure:
    """Alerts per 100 orders: bars by missing rate, one bar per algorithm, CI as error bars."""
    arms = sorted(summary["algorithm"].unique(), key=natural_key)
    colors = colors or arm_colors(arms)
    levels = sorted(summary[MISSING].unique(), key=natural_key) if MISSING in summary else [""]
    width = 0.8 / max(1, len(arms))
    figure = new_figure(1, width=max(6.0, 1.2 * len(levels) * max(1, len(arms)) ** 0.5))
    ax = figure.subplots()
    for i, arm in enumerate(arms):
        rows = summary[summary["algorithm"] == arm].set_index(MISSING).reindex(levels)
        mean = rows["alerts_per_100_mean"].to_numpy(dtype=float)
        low = rows["alerts_per_100_ci_low"].to_numpy(dtype=float)
        high = rows["alerts_per_100_ci_high"].to_numpy(dtype=float)
        x = np.arange(len(levels)) + (i - (len(arms) - 1) / 2) * width
        # No bar where the group did not run, no error bar where one seed gives no interval.
        ran = np.isfinite(mean)
        ax.bar(x[ran], mean[ran], width, label=arm, color=colors[arm])
        banded = ran & np.isfinite(low) & np.isfinite(high)
        if banded.any():
            error = np.vstack([mean[banded] - low[banded], high[banded] - mean[banded]])
            ax.errorbar(
                x[banded],
                mean[banded],
                yerr=error,
                fmt="none",
                ecolor="black",
                capsize=3,
                linewidth=1,
            )
    ax.set_xticks(np.arange(len(levels)), [str(level) for level in levels])
    ax.set_xlabel(MISSING_LABEL)
    ax.set_ylabel("alerts per 100 orders (WARN or BLOCK)")
    ax.set_title("Alert burden on the test cohort")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="algorithm", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(title)
    return figure
