"""Which MLflow runs a report counts, and what tells their groups apart.

`select_runs` works on the DataFrame of `mlflow.search_runs`, so it is plain pandas; the two
readers below are the only functions here that touch MLflow, and import it when called.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

log = logging.getLogger(__name__)

FINISHED = "FINISHED"
ALGO = "algo.name"
MISSING = "missing"
SEED = "seed"
ROLE_TAG = "cdss.role"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
COHORT_TAG = "test_cohort_seed"
CURVE = "train/episode_return"
_TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"

# Runs of these roles are bookkeeping of the study, not jobs: skipped without a mention.
NON_JOB_ROLES = frozenset({"parent", "report"})
# Params that say how a job was run rather than what was studied; never a grouping key.
# `_target_` follows from the option's `name`, which is the readable key.
_BOOKKEEPING = frozenset({SEED, "progress"})
_BOOKKEEPING_PREFIXES = ("mlflow.",)
_BOOKKEEPING_SUFFIXES = ("._target_",)
ABSENT = "(unset)"  # a param a run does not have (a baseline has no learning rate)

RUN_COLUMNS = ("run_id", "run_name", "status", "start_time", SEED, "cohort")
EXCLUDED_COLUMNS = ("run_id", "run_name", "status", "reason")


@dataclass(frozen=True)
class Study:
    """The runs a report counts, one row each, and the runs it leaves out with the reason.

    `runs` holds the columns of RUN_COLUMNS, one column per grouping key (the param name,
    values as strings, ABSENT when a run lacks the param), `algorithm` (a label per compared
    arm) and one float column per metric (the MLflow key, NaN when not logged).
    """

    runs: pd.DataFrame
    excluded: pd.DataFrame
    keys: tuple[str, ...]  # grouping params: algo.name, missing, and every other varying param
    arm_keys: tuple[str, ...]  # the algo.* keys: together they name one compared algorithm
    context_keys: tuple[str, ...]  # the other keys except missing: one setting of the study
    constants: dict[str, str] = field(default_factory=dict)  # settings shared by every run

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(c for c in self.runs.columns if "/" in c)


def natural_key(value: object) -> tuple[int, float, str]:
    """Sort '5' before '40' and words after numbers."""
    text = str(value)
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, math.inf, text)


def short_name(key: str) -> str:
    """'mechanism.name' -> 'mechanism', 'algo.alpha' -> 'alpha' for labels and headers."""
    if key.endswith(".name"):
        return key[: -len(".name")]
    return key.removeprefix("algo.")


def describe(values: Mapping[str, str]) -> str:
    """'mechanism=mnar, reward=default' for a setting; empty for the single setting."""
    return ", ".join(f"{short_name(k)}={v}" for k, v in values.items())


_MAX_SLUG = 80


def slug(values: Mapping[str, str]) -> str:
    """A file-name-safe form of a setting, for per-setting figure names."""
    text = "_".join(f"{short_name(k)}-{v}" for k, v in values.items())
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    if len(safe) <= _MAX_SLUG:
        return safe
    # File systems cap names at 255 bytes: keep a readable head, made unique by a hash.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{safe[: _MAX_SLUG - 11]}-{digest}"


# -- choosing the runs -------------------------------------------------------------------------


def select_runs(frame: pd.DataFrame) -> Study:
    """Split the runs of `mlflow.search_runs` into counted and excluded, and find the keys.

    Only FINISHED job runs are counted; failed or running ones, runs that are not jobs, runs
    without eval metrics and older reruns of the same settings and seed are listed instead.
    """
    frame = frame.reset_index(drop=True)
    for column in ("run_id", "status"):
        if column not in frame:  # search_runs returns no columns at all when nothing matched
            frame[column] = pd.Series(dtype=str)
    params = _prefixed(frame, "params.")
    tags = _prefixed(frame, "tags.")
    metrics = _prefixed(frame, "metrics.").apply(pd.to_numeric, errors="coerce")
    jobs = ~_column(tags, ROLE_TAG).isin(NON_JOB_ROLES)
    base = pd.DataFrame(
        {
            "run_id": frame["run_id"].astype(str),
            "run_name": _column(tags, RUN_NAME_TAG).fillna("").astype(str),
            "status": frame["status"].astype(str),
            "start_time": frame.get("start_time", pd.Series(pd.NaT, index=frame.index)),
        }
    )
    base["reason"] = _exclusion_reasons(base, params, tags, metrics)

    # The counted runs: their keys, seed and cohort, one label per algorithm, their metrics.
    candidates = jobs & (base["reason"] == "")
    keys = _grouping_keys(params[candidates])
    runs = base[candidates].drop(columns="reason")
    runs[SEED] = _column(params, SEED)[candidates].astype(str)
    cohort = _column(tags, COHORT_TAG).fillna(_column(params, "eval.test_seed"))
    runs["cohort"] = cohort[candidates].fillna(ABSENT).astype(str)
    for key in keys:
        runs[key] = _column(params, key)[candidates].fillna(ABSENT).astype(str)
    runs, superseded = _drop_reruns(runs, keys)
    base.loc[base["run_id"].isin(superseded), "reason"] = base["run_id"].map(superseded)
    arm_keys = tuple(k for k in keys if k.startswith("algo."))
    runs["algorithm"] = _arm_labels(runs, arm_keys)
    runs = pd.concat([runs, metrics.loc[runs.index]], axis=1)
    runs = _sorted(runs, [*[k for k in keys if k not in arm_keys], "algorithm", SEED])

    excluded = base[jobs & (base["reason"] != "")][list(EXCLUDED_COLUMNS)]
    log.info(
        "Counting %d finished job runs, excluding %d, skipping %d parent or report runs; "
        "grouped by %s",
        len(runs),
        len(excluded),
        int((~jobs).sum()),
        ", ".join(keys),
    )
    return Study(
        runs=runs.reset_index(drop=True),
        excluded=excluded.reset_index(drop=True),
        keys=keys,
        arm_keys=arm_keys,
        context_keys=tuple(k for k in keys if k not in arm_keys and k != MISSING),
        constants=_constants(params[candidates], keys),
    )


def _exclusion_reasons(
    base: pd.DataFrame, params: pd.DataFrame, tags: pd.DataFrame, metrics: pd.DataFrame
) -> pd.Series:
    """Why each run is left out; empty for a run that counts (reruns are decided later)."""
    reason = pd.Series("", index=base.index, dtype=object)
    error = _column(tags, "error").fillna("").astype(str).str.slice(0, 200)
    not_finished = base["status"] != FINISHED
    unfinished = "status " + base["status"] + ": not finished, left out of the statistics"
    unfinished = unfinished.where(error == "", unfinished + " (" + error + ")")
    reason[not_finished] = unfinished[not_finished]

    not_job = _column(params, ALGO).isna() | _column(params, SEED).isna()
    reason[not_job & (reason == "")] = f"not a job run: no {ALGO} or {SEED} param"

    eval_columns = [c for c in metrics.columns if c.startswith("eval/")]
    no_eval = metrics[eval_columns].isna().all(axis=1) if eval_columns else ~not_finished
    reason[no_eval & (reason == "")] = "finished without eval/ metrics"
    return reason


def _prefixed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    columns = [c for c in frame.columns if c.startswith(prefix)]
    part = frame[columns].copy()
    part.columns = [c[len(prefix) :] for c in columns]
    return part


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series(None, index=frame.index, dtype=object)


def _is_bookkeeping(key: str) -> bool:
    return (
        key in _BOOKKEEPING
        or key.startswith(_BOOKKEEPING_PREFIXES)
        or key.endswith(_BOOKKEEPING_SUFFIXES)
    )


def _grouping_keys(params: pd.DataFrame) -> tuple[str, ...]:
    """algo.name and missing always, then every other param whose value differs among runs.

    An algo.* param counts only when it differs within one algorithm: a learning rate that the
    tabular agents have and the baselines lack is part of what the algorithm is.
    """
    labelled = params.fillna(ABSENT).astype(str) if not params.empty else params
    varying = []
    for key in sorted(labelled.columns):
        if _is_bookkeeping(key) or key == ALGO:
            continue
        if key.startswith("algo.") and ALGO in labelled:
            differs = labelled.groupby(ALGO)[key].nunique().gt(1).any()
        else:
            differs = labelled[key].nunique() > 1
        if differs:
            varying.append(key)
    always = [ALGO, MISSING] if MISSING in params.columns else [ALGO]
    return tuple(always + [k for k in varying if k not in always])


def _drop_reruns(runs: pd.DataFrame, keys: Iterable[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Keep the latest run per settings, seed and cohort; a rerun is not another seed."""
    identity = [*keys, SEED, "cohort"]
    ordered = runs.sort_values("start_time", ascending=False, kind="stable")
    latest = ordered.drop_duplicates(identity, keep="first")
    superseded: dict[str, str] = {}
    if len(latest) < len(runs):
        kept = ordered.groupby(identity, sort=False)["run_id"].transform("first")
        for run_id, keeper in zip(ordered.run_id, kept, strict=True):
            if run_id != keeper:
                superseded[run_id] = (
                    f"rerun of the same settings and seed; the later run {keeper} is counted"
                )
    return runs.loc[latest.index.sort_values()], superseded


def _arm_labels(runs: pd.DataFrame, arm_keys: tuple[str, ...]) -> pd.Series:
    """'q', or 'q (alpha=0.2)' when that algorithm was run with several values of alpha.

    Distinct settings of the algo.* keys always get distinct labels.
    """
    hyper = [k for k in arm_keys if k != ALGO]
    varied: dict[str, list[str]] = {
        str(name): [k for k in hyper if block[k].nunique() > 1]
        for name, block in runs.groupby(ALGO)
    }

    def label(row: Mapping[str, str]) -> str:
        shown = [f"{short_name(k)}={row[k]}" for k in varied[row[ALGO]]]
        return f"{row[ALGO]} ({', '.join(shown)})" if shown else row[ALGO]

    return pd.Series([label(r) for r in runs.to_dict("records")], index=runs.index, dtype=object)


def _constants(params: pd.DataFrame, keys: Iterable[str]) -> dict[str, str]:
    """Settings every counted run shares, worth a line in the report (names and sizes)."""
    shown: dict[str, str] = {}
    for key in sorted(params.columns):
        if key in keys or _is_bookkeeping(key):
            continue
        if not (key.endswith(".name") or key in (MISSING, "n_episodes") or key.startswith("eval.")):
            continue
        values = params[key].dropna().astype(str).unique()
        if len(values) == 1 and params[key].notna().all():
            shown[key] = str(values[0])
    return shown


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    order = sorted(frame.index, key=lambda i: [natural_key(frame.at[i, c]) for c in columns])
    return frame.loc[order]


# -- reading MLflow ----------------------------------------------------------------------------


def search_runs(
    tracking_uri: str, experiment_id: str, parent_run_id: str | None = None
) -> pd.DataFrame:
    """All runs of the experiment (or of one sweep) as `mlflow.search_runs` returns them."""
    from cdss.tracking.telemetry import disable_telemetry

    disable_telemetry()
    import mlflow

    filter_string = f"tags.`{PARENT_TAG}` = '{parent_run_id}'" if parent_run_id else ""
    # search_runs reads the global tracking URI, which set_tracking_uri also exports to the
    # environment; both are put back so a report inside a longer process changes neither.
    previous_env = os.environ.get(_TRACKING_URI_ENV)
    previous = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(tracking_uri)
    try:
        frame = mlflow.search_runs(
            experiment_ids=[experiment_id], filter_string=filter_string, output_format="pandas"
        )
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None unsets it
        if previous_env is None:
            os.environ.pop(_TRACKING_URI_ENV, None)
        else:
            os.environ[_TRACKING_URI_ENV] = previous_env
    assert isinstance(frame, pd.DataFrame)
    if parent_run_id and frame.empty:
        raise ValueError(
            f"--parent {parent_run_id}: no runs of experiment {experiment_id} are its children, "
            "so it is not a sweep's parent run (a multirun's jobs are tagged mlflow.parentRunId)"
        )
    log.info(
        "Read %d runs from experiment %s%s",
        len(frame),
        experiment_id,
        f" under parent {parent_run_id}" if parent_run_id else "",
    )
    return frame


def metric_histories(
    tracking_uri: str, run_ids: Iterable[str], key: str = CURVE
) -> dict[str, pd.Series]:
    """The logged curve of each run (value by step); runs without it are left out."""
    from cdss.tracking.telemetry import disable_telemetry

    disable_telemetry()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    curves: dict[str, pd.Series] = {}
    for run_id in run_ids:
        history = client.get_metric_history(run_id, key)
        if history:
            points = {m.step: m.value for m in sorted(history, key=lambda m: m.timestamp)}
            curves[run_id] = pd.Series(points, dtype=float).sort_index()
    return curves
