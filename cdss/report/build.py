"""Assemble the study report from the runs, write it as files, and attach it to MLflow.

The report is a list of blocks (headings, paragraphs, tables, figures) rendered twice, as
Markdown beside its PNGs and as one self-contained HTML page with the PNGs inlined, so the two
always say the same thing.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

from cdss.report.plots import alerts_figure, arm_colors, learning_curves_figure, robustness_figure
from cdss.report.runs import (
    ABSENT,
    MISSING,
    Study,
    describe,
    metric_histories,
    natural_key,
    search_runs,
    select_runs,
    short_name,
    slug,
)
from cdss.report.tables import (
    ONE_SEED,
    TABLE_METRICS,
    compare,
    format_comparisons,
    format_summary,
    summarize,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

REPORT_ROLE = "report"
ARTIFACT_PATH = "report"
# The smallest exact two-sided Wilcoxon p-value with n pairs is 2 / 2**n: below 0.05 from n = 6.
_WILCOXON_MIN_PAIRS = 6
FILES = ("report.md", "report.html", "summary.csv", "comparisons.csv", "excluded_runs.csv")


@dataclass(frozen=True)
class Block:
    """One piece of the report: kind is h1, h2, h3, p, table or figure."""

    kind: str
    text: str = ""
    table: pd.DataFrame | None = None


@dataclass(frozen=True)
class Source:
    """Where the runs came from, for the report's header."""

    tracking_uri: str
    experiment: str
    parent_run_id: str | None = None


@dataclass
class Report:
    """Everything the files are written from, kept for tests and callers that want the data."""

    study: Study
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    figures: dict[str, Figure] = field(default_factory=dict)  # file name -> figure
    blocks: list[Block] = field(default_factory=list)


# -- building ----------------------------------------------------------------------------------


def build_report(study: Study, curves: Mapping[str, pd.Series], source: Source) -> Report:
    """Tables, figures and text of the report, without writing anything."""
    summary = summarize(study)
    comparisons = compare(study)
    report = Report(study, summary, comparisons)
    report.blocks += _header_blocks(study, summary, source)
    if study.runs.empty:
        report.blocks.append(Block("p", "No finished job run to summarize."))
    else:
        report.blocks += _results_blocks(study, summary)
        report.figures = _figures(study, summary, curves, source.experiment)
        report.blocks += _figure_blocks(report.figures)
        report.blocks += _comparison_blocks(study, comparisons)
    report.blocks += _excluded_blocks(study)
    return report


def _header_blocks(study: Study, summary: pd.DataFrame, source: Source) -> list[Block]:
    scope = (
        f"the runs of sweep parent run {source.parent_run_id}"
        if source.parent_run_id
        else "all runs of the experiment"
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    blocks = [
        Block("h1", f"Study report: experiment {source.experiment}"),
        Block(
            "p",
            f"Source: {scope}, tracking URI {redact(source.tracking_uri)}. Generated {generated}.",
        ),
        Block(
            "p",
            f"Counted {len(study.runs)} finished runs in {len(summary)} groups; "
            f"excluded {len(study.excluded)} runs (listed under Excluded runs).",
        ),
        Block(
            "p",
            "Runs are grouped by every parameter that varies among them except the training "
            f"seed: {', '.join(study.keys)}. Each group's runs are its training seeds.",
        ),
    ]
    if study.constants:
        blocks.append(Block("p", f"Shared by every counted run: {describe(study.constants)}."))
    return blocks


def redact(uri: str) -> str:
    """The URI without its password: the report is shared and logged as an artifact."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", uri)


def _results_blocks(study: Study, summary: pd.DataFrame) -> list[Block]:
    blocks = [
        Block("h2", "Results on the test cohort"),
        Block(
            "p",
            "Each cell is the mean across training seeds with its 95% confidence interval "
            "(Student t with n - 1 degrees of freedom), every agent evaluated greedily on the "
            "same fixed test cohort.",
        ),
    ]
    single = int((summary["n_seeds"] == 1).sum())
    if single:
        blocks.append(
            Block(
                "p",
                f"{single} of {len(summary)} groups ran with a single training seed: their "
                "confidence intervals cannot be computed (an interval needs at least two seeds) "
                f"and show {ONE_SEED}. Run more seeds (seed=0,1,2,...) to get them.",
            )
        )
    partial = [
        label
        for metric, label in TABLE_METRICS.items()
        if (summary[f"{metric}_n"] < summary["n_seeds"]).any()
    ]
    if partial:
        blocks.append(
            Block(
                "p",
                f"Some seeds leave {', '.join(partial)} undefined (no order of the kind the rate "
                "counts, e.g. no alert for alert precision); those cells average the seeds where "
                "it is defined and say how many.",
            )
        )
    blocks.append(Block("table", table=format_summary(summary, study)))
    return blocks


def _figures(
    study: Study, summary: pd.DataFrame, curves: Mapping[str, pd.Series], experiment: str
) -> dict[str, Figure]:
    """Per setting of the non-algorithm keys: robustness curve, learning curves, alert bars."""
    colors = arm_colors(list(summary["algorithm"]))
    figures: dict[str, Figure] = {}
    for setting, rows, runs in _by_setting(study, summary):
        suffix = f"-{slug(setting)}" if setting else ""
        where = f" ({describe(setting)})" if setting else ""
        figures[f"robustness{suffix}.png"] = robustness_figure(
            rows, f"Robustness to missing facts, experiment {experiment}{where}", colors
        )
        panels = _curve_panels(runs, curves)
        if panels:
            figures[f"learning_curves{suffix}.png"] = learning_curves_figure(
                panels, f"Learning curves across seeds, experiment {experiment}{where}", colors
            )
        figures[f"alerts_per_100{suffix}.png"] = alerts_figure(
            rows, f"Alerts per 100 orders, experiment {experiment}{where}", colors
        )
    return figures


def _by_setting(
    study: Study, summary: pd.DataFrame
) -> list[tuple[dict[str, str], pd.DataFrame, pd.DataFrame]]:
    keys = list(study.context_keys)
    if not keys:
        return [({}, summary, study.runs)]
    settings = sorted(
        {tuple(r) for r in summary[keys].itertuples(index=False)},
        key=lambda values: [natural_key(v) for v in values],
    )
    out = []
    for values in settings:
        setting = dict(zip(keys, values, strict=True))
        in_summary = (summary[keys] == pd.Series(setting)).all(axis=1)
        in_runs = (study.runs[keys] == pd.Series(setting)).all(axis=1)
        out.append((setting, summary[in_summary], study.runs[in_runs]))
    return out


def _curve_panels(
    runs: pd.DataFrame, curves: Mapping[str, pd.Series]
) -> dict[str, dict[str, list[pd.Series]]]:
    """Panel 'missing 40%' -> algorithm -> the curves of its seeds."""
    panels: dict[str, dict[str, list[pd.Series]]] = {}
    levels = sorted(runs[MISSING].unique(), key=natural_key) if MISSING in runs else [ABSENT]
    for level in levels:
        at_level = runs[runs[MISSING] == level] if MISSING in runs else runs
        panel: dict[str, list[pd.Series]] = {}
        for run_id, arm in zip(at_level["run_id"], at_level["algorithm"], strict=True):
            if run_id in curves:
                panel.setdefault(arm, []).append(curves[run_id])
        if panel:
            panels[f"missing {level}%"] = panel
    return panels


def _figure_blocks(figures: Mapping[str, Figure]) -> list[Block]:
    blocks = [Block("h2", "Figures")]
    captions = {
        "robustness": "Detection and false alert rate against the share of missing facts, "
        "one line per algorithm, 95% band across seeds (no band with one seed).",
        "learning_curves": "Training return per episode (binned means as logged), mean across "
        "seeds with a 95% band where at least two seeds logged the point.",
        "alerts_per_100": "Alerts (WARN or BLOCK) per 100 test orders; error bars are 95% "
        "intervals across seeds, absent for single-seed groups.",
    }
    for name in figures:
        blocks.append(Block("p", captions[name.split("-")[0].removesuffix(".png")]))
        blocks.append(Block("figure", name))
    return blocks


def _comparison_blocks(study: Study, comparisons: pd.DataFrame) -> list[Block]:
    blocks = [Block("h2", "Paired comparisons")]
    if comparisons.empty:
        arms = ", ".join(sorted(study.runs["algorithm"].unique(), key=natural_key))
        blocks.append(
            Block("p", f"Only one algorithm per setting ({arms}): there is nothing to compare.")
        )
        return blocks
    family = ", ".join(["missing rate", *(short_name(k) for k in study.context_keys)])
    blocks.append(
        Block(
            "p",
            "Difference first - second of each pair of algorithms, paired by training seed on "
            "the same test cohort, with its 95% t interval; paired t-test and Wilcoxon "
            "signed-rank p-values, Holm-corrected (in brackets) within each family: all pairs "
            f"of algorithms for one metric at one {family}. d_z is Cohen's effect size of the "
            "paired differences (mean difference over their standard deviation).",
        )
    )
    most_pairs = int(comparisons["n_pairs"].max())
    if 2 <= most_pairs < _WILCOXON_MIN_PAIRS:
        blocks.append(
            Block(
                "p",
                f"With at most {most_pairs} paired seeds the exact Wilcoxon test cannot reach "
                f"p < 0.05 (its smallest two-sided p is {2 / 2**most_pairs:.3g}); it needs "
                f"{_WILCOXON_MIN_PAIRS} or more.",
            )
        )
    untested = int((comparisons["note"] != "").sum())
    if untested:
        blocks.append(
            Block(
                "p",
                f"{untested} of {len(comparisons)} comparisons have no test; the note says why "
                "(fewer than 2 seeds paired on the same test cohort, or a difference that is the "
                "same for every seed, as between deterministic policies).",
            )
        )
    for metric, label in TABLE_METRICS.items():
        blocks.append(Block("h3", label))
        blocks.append(Block("table", table=format_comparisons(comparisons, metric)))
    return blocks


def _excluded_blocks(study: Study) -> list[Block]:
    blocks = [Block("h2", "Excluded runs")]
    if study.excluded.empty:
        blocks.append(Block("p", "None: every job run of the selection finished and is counted."))
        return blocks
    blocks.append(
        Block(
            "p",
            f"{len(study.excluded)} runs are left out of every statistic above, never averaged in:",
        )
    )
    blocks.append(Block("table", table=study.excluded.rename(columns={"run_name": "name"})))
    return blocks


# -- rendering ---------------------------------------------------------------------------------


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub Markdown table (pandas' to_markdown needs tabulate, which we do not ship)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(c) for c in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def render_markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            parts.append("#" * int(block.kind[1]) + " " + block.text)
        elif block.kind == "table":
            assert block.table is not None
            parts.append(markdown_table(block.table))
        elif block.kind == "figure":
            parts.append(f"![{block.text}]({block.text})")
        else:
            parts.append(block.text)
    return "\n\n".join(parts) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; }
"""


def render_html(blocks: list[Block], images: Mapping[str, bytes]) -> str:
    """One page with its styles and PNGs inlined, readable offline and as an MLflow artifact."""
    title = next((b.text for b in blocks if b.kind == "h1"), "Study report")
    body = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            body.append(f"<{block.kind}>{html.escape(block.text)}</{block.kind}>")
        elif block.kind == "table":
            assert block.table is not None
            body.append(block.table.to_html(index=False, escape=True, border=0))
        elif block.kind == "figure":
            data = base64.b64encode(images[block.text]).decode("ascii")
            body.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(block.text)}">')
        else:
            body.append(f"<p>{html.escape(block.text)}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write Markdown, HTML, CSVs and PNGs into `out_dir`; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = {name: png_bytes(figure) for name, figure in report.figures.items()}
    for name, data in images.items():
        (out / name).write_bytes(data)
    (out / "report.md").write_text(render_markdown(report.blocks), encoding="utf-8")
    (out / "report.html").write_text(render_html(report.blocks, images), encoding="utf-8")
    report.summary.to_csv(out / "summary.csv", index=False, na_rep="")
    report.comparisons.to_csv(out / "comparisons.csv", index=False, na_rep="")
    report.study.excluded.to_csv(out / "excluded_runs.csv", index=False)
    written = [out / name for name in (*FILES, *images)]
    log.info("Wrote %d report files to %s", len(written), out)
    return written


# -- MLflow ------------------------------------------------------------------------------------


def resolve_experiment(
    tracking_uri: str, experiment: str | None, parent_run_id: str | None
) -> tuple[str, str]:
    """(experiment id, name); with a parent run, its experiment, which must match a given name."""
    from cdss.tracking.telemetry import disable_telemetry

    disable_telemetry()
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    if parent_run_id:
        try:
            parent = client.get_run(parent_run_id)
        except MlflowException as error:
            raise ValueError(f"no run {parent_run_id!r} in {tracking_uri}") from error
        found = client.get_experiment(parent.info.experiment_id)
        if experiment is not None and found.name != experiment:
            raise ValueError(
                f"parent run {parent_run_id} belongs to experiment {found.name!r}, "
                f"not {experiment!r}"
            )
        return str(found.experiment_id), str(found.name)
    name = experiment or "cdss"
    named = client.get_experiment_by_name(name)
    if named is None:
        names = sorted(e.name for e in client.search_experiments())
        raise ValueError(f"no experiment {name!r} in {tracking_uri}; there are: {names}")
    return str(named.experiment_id), name


def publish(
    tracking_uri: str,
    experiment_id: str,
    files: Sequence[Path],
    parent_run_id: str | None = None,
) -> str:
    """Log the report files under `report/` of the sweep's parent run, else of a new run.

    Only the files this report wrote are logged, not whatever else the output folder holds.
    The new run is tagged cdss.role=report, so later reports do not count it as a job.
    """
    from cdss.tracking.telemetry import disable_telemetry

    disable_telemetry()
    from mlflow.entities import RunStatus
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

    client = MlflowClient(tracking_uri)
    if parent_run_id:
        _log_files(client, parent_run_id, files)
        log.info("Report logged to parent run %s under %s/", parent_run_id, ARTIFACT_PATH)
        return parent_run_id
    name = "report-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run = client.create_run(
        experiment_id, tags={"cdss.role": REPORT_ROLE, MLFLOW_RUN_NAME: name}, run_name=name
    )
    status = RunStatus.FAILED
    try:
        _log_files(client, run.info.run_id, files)
        status = RunStatus.FINISHED
    finally:
        client.set_terminated(run.info.run_id, RunStatus.to_string(status))
    log.info("Report logged to new run %s (%s) under %s/", run.info.run_id, name, ARTIFACT_PATH)
    return str(run.info.run_id)


def _log_files(client: MlflowClient, run_id: str, files: Sequence[Path]) -> None:
    with tempfile.TemporaryDirectory() as staging:
        for path in files:
            shutil.copy2(path, Path(staging) / path.name)
        client.log_artifacts(run_id, staging, ARTIFACT_PATH)


@dataclass(frozen=True)
class Outcome:
    """What a report command produced."""

    files: list[Path]
    run_id: str | None  # the run holding the report artifacts, None when not logged


def run_report(
    tracking_uri: str,
    experiment: str | None,
    out_dir: str | Path,
    parent_run_id: str | None = None,
    log_to_mlflow: bool = True,
) -> Outcome:
    """Read the runs, write the report into `out_dir`, and log it to MLflow."""
    experiment_id, name = resolve_experiment(tracking_uri, experiment, parent_run_id)
    frame = search_runs(tracking_uri, experiment_id, parent_run_id)
    study = select_runs(frame)
    curves = metric_histories(tracking_uri, study.runs["run_id"])
    report = build_report(study, curves, Source(tracking_uri, name, parent_run_id))
    files = write_report(report, out_dir)
    run_id = publish(tracking_uri, experiment_id, files, parent_run_id) if log_to_mlflow else None
    return Outcome(files, run_id)
