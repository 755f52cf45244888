"""The report's numbers, read from a real SQLite MLflow store and recomputed independently."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cdss.report import build_report, compare, search_runs, select_runs, summarize
from cdss.report.build import Source, render_markdown
from cdss.report.tables import TABLE_METRICS, format_summary
from tests.report.conftest import ALGOS, MISSING_RATES, SEEDS, SINGLE, StudyStore


@pytest.fixture(scope="module")
def frame(study_store: StudyStore) -> pd.DataFrame:
    return search_runs(study_store.uri, study_store.experiment_id, study_store.parent_id)


def recompute(study_store: StudyStore, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    """Means and t intervals straight from mlflow.search_runs, without the report's code."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", study_store.uri)  # not mlflow's global: no leak
    runs = mlflow.search_runs(experiment_ids=[study_store.experiment_id])
    assert isinstance(runs, pd.DataFrame)
    jobs = runs[(runs["status"] == "FINISHED") & runs["params.algo.name"].notna()]
    rows = []
    for (algo, missing), block in jobs.groupby(["params.algo.name", "params.missing"]):
        row = {"algo.name": algo, "missing": missing, "n": len(block)}
        for metric in TABLE_METRICS:
            values = block[f"metrics.eval/{metric}"].dropna().to_numpy()
            row[f"{metric}_mean"] = values.mean()
            if len(values) >= 2 and stats.sem(values) > 0:
                row[f"{metric}_ci"] = stats.t.interval(
                    0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values)
                )
            elif len(values) >= 2:  # a deterministic baseline: every seed gives the same value
                row[f"{metric}_ci"] = (values.mean(), values.mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index(["algo.name", "missing"])


def test_table_matches_a_recomputation_from_search_runs(
    study_store: StudyStore, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = summarize(select_runs(frame)).set_index(["algo.name", "missing"])
    expected = recompute(study_store, monkeypatch)
    assert sorted(summary.index) == sorted(expected.index)
    for key, row in expected.iterrows():
        got = summary.loc[key]
        assert got["n_seeds"] == row["n"]
        for metric in TABLE_METRICS:
            assert got[f"{metric}_mean"] == pytest.approx(row[f"{metric}_mean"]), (key, metric)
            if isinstance(row.get(f"{metric}_ci"), tuple):
                ci = (got[f"{metric}_ci_low"], got[f"{metric}_ci_high"])
                assert ci == pytest.approx(row[f"{metric}_ci"]), (key, metric)


def test_intervals_are_scipy_t_intervals_of_the_known_values(
    study_store: StudyStore, frame: pd.DataFrame
) -> None:
    summary = summarize(select_runs(frame)).set_index(["algo.name", "missing"])
    for missing in MISSING_RATES:
        values = [study_store.values[("q", missing, s)]["detection_rate"] for s in SEEDS]
        low, high = stats.t.interval(
            0.95, df=len(values) - 1, loc=np.mean(values), scale=stats.sem(values)
        )
        row = summary.loc[("q", str(missing))]
        assert row["detection_rate_mean"] == pytest.approx(np.mean(values))
        assert (row["detection_rate_ci_low"], row["detection_rate_ci_high"]) == pytest.approx(
            (low, high)
        )
    # A seed that did not log alert precision is left out of its mean, not counted as 0.
    row = summary.loc[("q", "60")]
    kept = [study_store.values[("q", 60, s)]["alert_precision"] for s in (0, 1)]
    assert row["alert_precision_n"] == 2 and row["n_seeds"] == 3
    assert row["alert_precision_mean"] == pytest.approx(np.mean(kept))


def test_failed_and_running_runs_are_excluded_and_listed(
    study_store: StudyStore, frame: pd.DataFrame
) -> None:
    study = select_runs(frame)
    assert study_store.failed_id not in set(study.runs["run_id"])
    assert study_store.running_id not in set(study.runs["run_id"])
    assert study_store.parent_id not in set(study.runs["run_id"])
    excluded = study.excluded.set_index("run_id")
    assert excluded.loc[study_store.failed_id, "status"] == "FAILED"
    assert "the agent diverged" in excluded.loc[study_store.failed_id, "reason"]
    assert excluded.loc[study_store.running_id, "status"] == "RUNNING"
    assert study_store.parent_id not in excluded.index  # a parent is not a job at all

    # The failed run logged 0.0 everywhere; the counted seeds are exactly 0, 1, 2.
    summary = summarize(study).set_index(["algo.name", "missing"])
    assert summary.loc[("q", "20"), "n_seeds"] == len(SEEDS)
    assert summary.loc[("q", "20"), "detection_rate_ci_low"] > 0.5

    report = build_report(study, {}, Source(study_store.uri, "cdss", study_store.parent_id))
    text = render_markdown(report.blocks)
    excluded_section = text.split("## Excluded runs", 1)[1]
    for run_id, name, status in (
        (study_store.failed_id, "q-missing20-mcar-seed3", "FAILED"),
        (study_store.running_id, "sarsa-missing20-mcar-seed3", "RUNNING"),
    ):
        line = next(ln for ln in excluded_section.splitlines() if run_id in ln)
        assert name in line and status in line


def test_one_seed_group_says_the_interval_cannot_be_computed(
    study_store: StudyStore, frame: pd.DataFrame
) -> None:
    study = select_runs(frame)
    summary = summarize(study)
    table = format_summary(summary, study)
    algo, missing, _ = SINGLE
    row = table[(table["algorithm"] == algo) & (table["missing %"] == str(missing))].iloc[0]
    assert row["n seeds"] == "1"
    for label in TABLE_METRICS.values():
        assert row[label].endswith("n/a (1 seed)"), row[label]
    text = render_markdown(build_report(study, {}, Source("uri", "cdss")).blocks)
    assert "cannot be computed" in text
    assert "nan" not in text.lower()
    single = summary[summary["algorithm"] == algo].iloc[0]
    assert math.isnan(single["detection_rate_ci_low"])  # the CSV leaves it empty


def test_comparisons_pair_by_seed_and_correct_within_each_family(
    study_store: StudyStore, frame: pd.DataFrame
) -> None:
    comparisons = compare(select_runs(frame))
    families = comparisons.groupby(["missing", "metric"])
    assert families.ngroups == len(MISSING_RATES) * len(TABLE_METRICS)
    for missing, metric in itertools.product(MISSING_RATES, TABLE_METRICS):
        family = families.get_group((str(missing), metric))
        tested = family[family["note"] == ""]
        raw = tested["t_p"].to_numpy()
        m = len(raw)
        order = np.argsort(raw)
        expected = np.empty(m)
        running = 0.0
        for rank, index in enumerate(order):
            running = max(running, min(1.0, (m - rank) * raw[index]))
            expected[index] = running
        assert tested["t_p_holm"].to_numpy() == pytest.approx(expected)

    row = comparisons[
        (comparisons["missing"] == "20")
        & (comparisons["metric"] == "detection_rate")
        & (comparisons["first"] == "q")
        & (comparisons["second"] == "sarsa")
    ].iloc[0]
    a = [study_store.values[("q", 20, s)]["detection_rate"] for s in SEEDS]
    b = [study_store.values[("sarsa", 20, s)]["detection_rate"] for s in SEEDS]
    d = np.subtract(a, b)
    assert row["n_pairs"] == 3
    assert row["mean_diff"] == pytest.approx(d.mean())
    assert row["t_p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(d).pvalue)
    assert row["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_pairs_without_enough_seeds_say_why(frame: pd.DataFrame) -> None:
    comparisons = compare(select_runs(frame))
    with_single = comparisons[
        (comparisons["first"] == "random") | (comparisons["second"] == "random")
    ]
    assert len(with_single) > 0
    assert with_single["note"].str.contains("1 paired seed").all()
    assert with_single["t_p"].isna().all()
    # q at missing 60 lacks alert precision on seed 2: two pairs remain, still a test.
    q_sarsa = comparisons[
        (comparisons["missing"] == "60")
        & (comparisons["first"] == "q")
        & (comparisons["second"] == "sarsa")
        & (comparisons["metric"] == "alert_precision")
    ].iloc[0]
    assert q_sarsa["n_pairs"] == 2 and q_sarsa["note"] == ""


# -- synthetic frames shaped like mlflow.search_runs, for the selection rules ------------------


def fake_runs(rows: list[dict[str, object]]) -> pd.DataFrame:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = []
    for i, row in enumerate(rows):
        record = {
            "run_id": f"run{i}",
            "status": row.get("status", "FINISHED"),
            "start_time": start + timedelta(minutes=i),
            "params.algo.name": row["algo"],
            "params.missing": str(row.get("missing", 40)),
            "params.seed": str(row["seed"]),
            "params.mechanism.name": row.get("mechanism", "mcar"),
            "tags.mlflow.runName": f"name{i}",
            "tags.test_cohort_seed": "1000003",
            "metrics.eval/detection_rate": row.get("detection", 0.5),
            "metrics.eval/mean_return": 1.0,
        }
        if "alpha" in row:
            record["params.algo.alpha"] = str(row["alpha"])
        records.append(record)
    return pd.DataFrame(records)


def test_a_rerun_of_the_same_seed_is_counted_once() -> None:
    frame = fake_runs(
        [
            {"algo": "q", "seed": 0, "detection": 0.1},
            {"algo": "q", "seed": 1, "detection": 0.6},
            {"algo": "q", "seed": 0, "detection": 0.8},  # the later rerun of seed 0
        ]
    )
    study = select_runs(frame)
    assert sorted(study.runs["run_id"]) == ["run1", "run2"]
    assert "rerun" in study.excluded.set_index("run_id").loc["run0", "reason"]
    assert summarize(study).iloc[0]["detection_rate_mean"] == pytest.approx(0.7)


def test_hyperparameters_and_settings_that_vary_become_keys() -> None:
    frame = fake_runs(
        [
            {"algo": "q", "seed": s, "alpha": alpha, "mechanism": mechanism}
            for s in (0, 1)
            for alpha in (0.1, 0.2)
            for mechanism in ("mcar", "mnar")
        ]
        + [
            {"algo": "rule_based", "seed": s, "mechanism": m}
            for s in (0, 1)
            for m in ("mcar", "mnar")
        ]
    )
    study = select_runs(frame)
    assert set(study.keys) == {"algo.name", "missing", "algo.alpha", "mechanism.name"}
    assert study.arm_keys == ("algo.name", "algo.alpha")
    assert study.context_keys == ("mechanism.name",)
    assert set(study.runs["algorithm"]) == {"q (alpha=0.1)", "q (alpha=0.2)", "rule_based"}
    comparisons = compare(study)
    # Three arms -> three pairs per metric, within each mechanism: baselines compared too.
    per_family = comparisons.groupby(["mechanism.name", "missing", "metric"]).size()
    assert (per_family == 3).all() and len(per_family) == 2 * len(TABLE_METRICS)


def test_a_learning_rate_only_the_tabular_agents_have_is_not_a_key() -> None:
    frame = fake_runs(
        [{"algo": a, "seed": s, "alpha": 0.1} for a in ("q", "sarsa") for s in (0, 1)]
        + [{"algo": "oracle", "seed": s} for s in (0, 1)]
    )
    study = select_runs(frame)
    assert study.keys == ("algo.name", "missing")
    assert set(study.runs["algorithm"]) == {"q", "sarsa", "oracle"}


def test_runs_that_are_not_jobs_are_listed_not_counted() -> None:
    frame = fake_runs([{"algo": "q", "seed": 0}, {"algo": "q", "seed": 1}])
    frame.loc[1, "params.seed"] = None
    frame.loc[2] = frame.loc[0]
    frame.loc[2, ["run_id", "tags.cdss.role"]] = ["report0", "report"]
    study = select_runs(frame)
    assert list(study.runs["run_id"]) == ["run0"]
    assert list(study.excluded["run_id"]) == ["run1"]
    assert "not a job run" in study.excluded.iloc[0]["reason"]


def test_all_algorithms_listed(frame: pd.DataFrame) -> None:
    assert set(select_runs(frame).runs["algorithm"]) == {*ALGOS, SINGLE[0]}


def test_the_report_never_shows_a_tracking_password(frame: pd.DataFrame) -> None:
    uri = "postgresql://study:s3cret@db.example.org:5432/mlflow"
    text = render_markdown(build_report(select_runs(frame), {}, Source(uri, "cdss")).blocks)
    assert "s3cret" not in text
    assert "postgresql://study:***@db.example.org:5432/mlflow" in text


def test_each_setting_of_the_other_keys_gets_its_own_figures() -> None:
    frame = fake_runs(
        [
            {"algo": a, "seed": s, "missing": m, "mechanism": mech}
            for a in ("q", "rule_based")
            for s in (0, 1)
            for m in (20, 60)
            for mech in ("mcar", "mnar")
        ]
    )
    report = build_report(select_runs(frame), {}, Source("uri", "cdss"))
    assert sorted(report.figures) == [
        "alerts_per_100-mechanism-mcar.png",
        "alerts_per_100-mechanism-mnar.png",
        "robustness-mechanism-mcar.png",
        "robustness-mechanism-mnar.png",
    ]
    assert "mechanism=mnar" in report.figures["robustness-mechanism-mnar.png"].get_suptitle()
