"""launch.py as a user runs it: a Gymnasium environment by config, and a killed job resumed
from its checkpoint ending exactly as one that ran through."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from cdss.orchestration.job import execute
from cdss.orchestration.schema import MlflowConfig
from cdss.tracking.store import downsample
from cdss.training import load_checkpoint
from tests.conftest import REPO, launch
from tests.training.jobs import compose_job


def only_run(folder: Path) -> Run:
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cdss")
    (run,) = client.search_runs([experiment.experiment_id])
    return run


def test_frozenlake_through_the_orchestrator(tmp_path: Path) -> None:
    args = ["env=gym", "env.id=FrozenLake-v1", "env.kwargs.is_slippery=true",
            "env.kwargs.map_name=4x4", "algo=q", "algo.gamma=0.99", "algo.alpha_schedule=linear",
            "n_episodes=8000", "eval.test_size=1000", "eval.val_size=100",
            "progress=false"]  # fmt: skip
    result = launch(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "success_rate" in result.stdout
    run = only_run(tmp_path)
    metrics = run.data.metrics
    assert metrics["eval/n_episodes"] == 1000
    assert metrics["eval/success_rate"] >= 0.70  # the optimal policy reaches about 0.74
    assert "eval/detection_rate" not in metrics  # FrozenLake has no clinical metrics
    assert run.data.params["env.kwargs.is_slippery"] == "True"
    assert run.data.tags["n_belief_states"] == "16"


RESUMABLE = ["algo=double_q", "n_episodes=30000", "train.checkpoint.every=5000",
             "train.eval_every=10000", "eval.test_size=300", "eval.val_size=100",
             "progress=false"]  # fmt: skip


def _kill_after_first_checkpoint(folder: Path, timeout: float = 120) -> Path:
    """Start the job, SIGKILL it as soon as a checkpoint exists; return the checkpoint."""
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "launch.py"), *RESUMABLE],
        cwd=folder,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            found = list((folder / "checkpoints").glob("*/last.ckpt"))
            if found:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return found[0]
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    raise AssertionError(f"no checkpoint appeared (exit code {process.returncode})")


def test_a_killed_job_resumes_to_the_same_result(tmp_path: Path) -> None:
    # The uninterrupted run: the same job, in this process (launchers give the same figures),
    # without checkpoints (they are not part of the job's result, nor of its config hash).
    reference = execute(compose_job(*RESUMABLE, "train.checkpoint.every=0"))

    checkpoint_file = _kill_after_first_checkpoint(tmp_path)
    checkpoint = load_checkpoint(checkpoint_file)
    assert 0 < checkpoint["trainer"]["episode"] < 30_000
    interrupted = only_run(tmp_path)
    assert interrupted.info.status == "RUNNING" and checkpoint["run_id"] == interrupted.info.run_id

    result = launch([*RESUMABLE, "resume=true"], tmp_path)
    assert result.returncode == 0, result.stderr
    resumed = only_run(tmp_path)
    assert resumed.info.run_id == interrupted.info.run_id  # the same MLflow run, continued
    assert resumed.info.status == "FINISHED"
    assert resumed.data.tags["resumed_from_episode"] == str(checkpoint["trainer"]["episode"])
    assert not list((tmp_path / "checkpoints").glob("*/last.ckpt"))  # removed once finished

    metrics = resumed.data.metrics
    for prefix, expected in (("eval", reference.test_metrics), ("val", reference.val_metrics)):
        for key, value in expected.items():
            if math.isfinite(value):
                assert metrics[f"{prefix}/{key}"] == value, key
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")

    def curve(key: str) -> list[tuple[int, float]]:
        return sorted(
            (m.step, m.value) for m in client.get_metric_history(resumed.info.run_id, key)
        )

    steps, means = downsample(reference.curves["train/episode_return"], MlflowConfig().curve_points)
    assert curve("train/episode_return") == list(zip(steps.tolist(), means.tolist(), strict=True))
    val_curve = reference.val_curves["val/mean_return"].tolist()
    val_points = list(zip(reference.val_steps.tolist(), val_curve, strict=True))
    final = (30_000, reference.val_metrics["mean_return"])
    assert curve("val/mean_return") == [*val_points, final]
