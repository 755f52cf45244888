"""The figures: labelled axes, one line (or bar series) per algorithm, a legend, valid PNGs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cdss.report import build_report, search_runs, select_runs, summarize, write_report
from cdss.report.build import Source
from cdss.report.plots import alerts_figure, learning_curves_figure, robustness_figure
from cdss.report.runs import Study, metric_histories
from tests.report.conftest import ALGOS, MISSING_RATES, SINGLE, StudyStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALL_ALGOS = {*ALGOS, SINGLE[0]}


@pytest.fixture(scope="module")
def study(study_store: StudyStore) -> Study:
    frame = search_runs(study_store.uri, study_store.experiment_id, study_store.parent_id)
    return select_runs(frame)


@pytest.fixture(scope="module")
def curves(study_store: StudyStore, study: Study) -> dict[str, pd.Series]:
    return metric_histories(study_store.uri, study.runs["run_id"])


def legend_labels(figure: Figure) -> list[set[str]]:
    labels = []
    for ax in figure.axes:
        legend = ax.get_legend()
        assert legend is not None, "every panel has a legend"
        labels.append({text.get_text() for text in legend.get_texts()})
    return labels


def assert_labelled(figure: Figure) -> None:
    assert figure.get_suptitle()
    for ax in figure.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_robustness_curve_has_one_line_per_algorithm(study: Study) -> None:
    figure = robustness_figure(summarize(study), "robustness")
    assert len(figure.axes) == 2
    assert_labelled(figure)
    assert [ax.get_ylabel().split(" (")[0] for ax in figure.axes] == [
        "detection rate",
        "false alert rate",
    ]
    for ax, labels in zip(figure.axes, legend_labels(figure), strict=True):
        lines = ax.get_lines()
        assert len(lines) == len(ALL_ALGOS)
        assert {line.get_label() for line in lines} == ALL_ALGOS == labels
        q_line = next(line for line in lines if line.get_label() == "q")
        assert list(q_line.get_xdata()) == list(MISSING_RATES)
        # Bands for the multi-seed algorithms; the one-seed algorithm gets none.
        assert len(ax.collections) == len(ALGOS)


def test_learning_curves_have_one_line_per_algorithm_per_missing_rate(
    study: Study, curves: dict[str, pd.Series]
) -> None:
    assert len(curves) == len(study.runs)  # every counted run logged its curve
    panels: dict[str, dict[str, list[pd.Series]]] = {}
    for run_id, missing, arm in study.runs[["run_id", "missing", "algorithm"]].itertuples(
        index=False
    ):
        panels.setdefault(f"missing {missing}%", {}).setdefault(arm, []).append(curves[run_id])
    figure = learning_curves_figure(panels, "learning curves")
    assert len(figure.axes) == len(MISSING_RATES)
    assert_labelled(figure)
    for ax, labels in zip(figure.axes, legend_labels(figure), strict=True):
        assert len(ax.get_lines()) == len(labels)
        assert {line.get_label() for line in ax.get_lines()} == labels
    assert legend_labels(figure)[0] == ALL_ALGOS


def test_alert_bars_have_one_series_per_algorithm(study: Study) -> None:
    figure = alerts_figure(summarize(study), "alerts")
    assert_labelled(figure)
    ax = figure.axes[0]
    assert legend_labels(figure) == [ALL_ALGOS]
    bars = {
        container.get_label(): container
        for container in ax.containers
        if container.get_label() in ALL_ALGOS
    }
    assert set(bars) == ALL_ALGOS
    assert len(bars["q"]) == len(MISSING_RATES) and len(bars[SINGLE[0]]) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(m) for m in MISSING_RATES]


def test_written_pngs_are_pngs_and_the_html_embeds_them(
    tmp_path: Path, study: Study, curves: dict[str, pd.Series], study_store: StudyStore
) -> None:
    report = build_report(study, curves, Source(study_store.uri, "cdss", study_store.parent_id))
    written = write_report(report, tmp_path)
    pngs = sorted(p.name for p in written if p.suffix == ".png")
    assert pngs == ["alerts_per_100.png", "learning_curves.png", "robustness.png"]
    for name in pngs:
        path = tmp_path / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert 'src="robustness.png"' not in page and "<link" not in page and "<script" not in page
    markdown = (tmp_path / "report.md").read_text()
    for name in pngs:
        assert f"]({name})" in markdown
