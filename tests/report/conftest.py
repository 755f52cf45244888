"""A real SQLite MLflow store holding a small study with known metric values.

Runs are written with MlflowClient the way cdss/orchestration/job.py writes them: params as
strings, a parent run tagged cdss.role=parent, children tagged mlflow.parentRunId, final eval/
metrics, and a binned train/episode_return curve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from cdss.tracking.telemetry import disable_telemetry

disable_telemetry()

from mlflow.entities import Metric, Param, RunTag  # noqa: E402  (telemetry off first)
from mlflow.tracking import MlflowClient  # noqa: E402

EXPERIMENT = "cdss"
ALGOS = ("q", "sarsa", "rule_based")
MISSING_RATES = (20, 60)
SEEDS = (0, 1, 2)
TEST_COHORT_SEED = "1000003"
# The one-seed group: random ran only seed 0 at missing 20.
SINGLE = ("random", 20, 0)
# A seed that leaves alert precision undefined (NaN is not logged).
NO_PRECISION = ("q", 60, 2)
CURVE_STEPS = np.arange(9, 300, 10)


@dataclass
class StudyStore:
    uri: str
    root: Path
    experiment_id: str
    parent_id: str
    values: dict[tuple[str, int, int], dict[str, float]]  # (algo, missing, seed) -> metrics
    failed_id: str = ""
    running_id: str = ""
    job_ids: dict[tuple[str, int, int], str] = field(default_factory=dict)


def known_metrics(algo: str, missing: int, seed: int) -> dict[str, float]:
    """Metric values with seed-to-seed noise; rule_based is deterministic, as a rule is."""
    base = {"q": 0.85, "sarsa": 0.8, "rule_based": 0.7, "random": 0.5}[algo]
    noise = 0.0
    if algo != "rule_based":
        noise = np.random.default_rng(
            [ALGOS.index(algo) if algo in ALGOS else 9, missing, seed]
        ).normal(0, 0.03)
    detection = round(base - missing / 400 + noise, 4)
    values = {
        "detection_rate": detection,
        "severe_miss_rate": round(1 - detection, 4),
        "false_alert_rate": round(0.1 + missing / 1000 - noise / 2, 4),
        "alerts_per_100": round(30 + missing / 10 + 50 * noise, 3),
        "alert_precision": round(0.7 + noise, 4),
        "decision_accuracy": round(base - 0.1 + noise / 3, 4),
        "mean_return": round(1.5 - missing / 50 + 5 * noise, 3),
        "requests_per_order": round(0.2 * (algo in ("q", "sarsa")) + abs(noise), 4),
    }
    if (algo, missing, seed) == NO_PRECISION:
        del values["alert_precision"]
    return values


def job_params(algo: str, missing: int, seed: int) -> dict[str, str]:
    params = {
        "algo.name": algo,
        "algo._target_": f"cdss.agents.{algo}",
        "missing": str(missing),
        "seed": str(seed),
        "mechanism.name": "mcar",
        "reward.name": "default",
        "kb.name": "curated",
        "env.name": "default",
        "env.max_steps": "4",
        "n_episodes": "300",
        "progress": "False",
        "eval.test_seed": TEST_COHORT_SEED,
        "mlflow.experiment_name": EXPERIMENT,
        "mlflow.tracking_uri": "sqlite:///mlflow.db",
    }
    if algo in ("q", "sarsa"):
        params.update({"algo.alpha": "0.1", "algo.gamma": "0.95"})
    return params


def log_job(
    client: MlflowClient,
    experiment_id: str,
    parent_id: str,
    algo: str,
    missing: int,
    seed: int,
    metrics: dict[str, float],
    status: str = "FINISHED",
) -> str:
    name = f"{algo}-missing{missing}-mcar-seed{seed}"
    tags = {
        "mlflow.parentRunId": parent_id,
        "test_cohort_seed": TEST_COHORT_SEED,
        "git_commit": "abc123",
        "kb_hash": "deadbeef",
        "algo": algo,
    }
    run = client.create_run(experiment_id, tags=tags, run_name=name)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        params=[Param(k, v) for k, v in job_params(algo, missing, seed).items()],
        metrics=[Metric(f"eval/{k}", v, now, 0) for k, v in metrics.items()]
        + [Metric(f"val/{k}", v, now, 0) for k, v in metrics.items()]
        + [
            Metric(
                "train/episode_return",
                float(-5 + 7 * (1 - np.exp(-s / 80)) + seed / 10),
                now,
                int(s),
            )
            for s in CURVE_STEPS
        ],
        tags=[RunTag("kb_name", "curated")],
    )
    if status != "RUNNING":
        client.set_terminated(run_id, status)
    return run_id


def make_store(root: Path) -> StudyStore:
    """Parent run, 3 algorithms x 2 missing rates x 3 seeds, one single-seed group, one failed
    and one still-running job."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=str(root / "artifacts"))
    parent = client.create_run(
        experiment_id, tags={"cdss.role": "parent"}, run_name="sweep-2026-01-01"
    )
    store = StudyStore(uri, root, experiment_id, parent.info.run_id, {})
    cells = [(a, m, s) for a in ALGOS for m in MISSING_RATES for s in SEEDS] + [SINGLE]
    for algo, missing, seed in cells:
        metrics = known_metrics(algo, missing, seed)
        store.values[(algo, missing, seed)] = metrics
        store.job_ids[(algo, missing, seed)] = log_job(
            client, experiment_id, store.parent_id, algo, missing, seed, metrics
        )
    outlier = {k: 0.0 for k in known_metrics("q", 20, 0)}
    store.failed_id = log_job(
        client, experiment_id, store.parent_id, "q", 20, 3, outlier, status="FAILED"
    )
    client.set_tag(store.failed_id, "error", "RuntimeError: the agent diverged")
    store.running_id = log_job(
        client, experiment_id, store.parent_id, "sarsa", 20, 3, outlier, status="RUNNING"
    )
    client.set_terminated(store.parent_id, "FAILED")
    return store


@pytest.fixture(scope="session")
def study_store(tmp_path_factory: pytest.TempPathFactory) -> StudyStore:
    """Shared and read-only: tests that log to MLflow make their own with `make_store`."""
    return make_store(tmp_path_factory.mktemp("study"))
