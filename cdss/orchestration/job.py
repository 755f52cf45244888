"""One job of the study: build from config, train, evaluate, and track it as one MLflow run."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from cdss.orchestration.parent import PARENT_RUN_ENV, tracking_uri_of
from cdss.orchestration.validate import ConfigError, validate

log = logging.getLogger(__name__)

# Set by our Optuna sweeper for each trial (through hydra.job.env_set), tagged on the run.
TRIAL_NUMBER_ENV = "CDSS_OPTUNA_TRIAL_NUMBER"

METRIC_ORDER = (
    "detection_rate",
    "severe_miss_rate",
    "false_alert_rate",
    "alerts_per_100",
    "alert_precision",
    "decision_accuracy",
    "mean_return",
    "requests_per_order",
)


@dataclass
class JobResult:
    """What one job produced, before any of it is tracked."""

    kb_name: str
    kb_hash: str
    n_states: int
    test_metrics: dict[str, float]
    val_metrics: dict[str, float]
    curves: dict[str, np.ndarray]
    q_table: np.ndarray | None
    layout: tuple[list[str], list[int]]  # observation feature names and sizes, for the policy
    timings: dict[str, float] = field(default_factory=dict)
    train_metrics: dict[str, float] = field(default_factory=dict)
    started_at: float = 0.0  # perf_counter at the first training episode (benchmarks)
    extra_tags: dict[str, str] = field(default_factory=dict)

    @property
    def objective(self) -> float:
        """The sweep objective: mean return on the validation cohort, never the test cohort."""
        return float(self.val_metrics["mean_return"])


def build(cfg: DictConfig, **extra: Any) -> Any:
    """Instantiate a config group option; its `name` is a label for tracking, not an argument."""
    node = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(node, dict)
    node.pop("name", None)
    return instantiate(node, **extra, _convert_="all")


@dataclass
class SourcePolicy:
    """A policy trained by an earlier run, evaluated here instead of training (`from_run`)."""

    run_id: str
    q_table: np.ndarray | None  # None for a baseline, rebuilt from its config
    missing: int
    mechanism: str


def adopt_source_run(cfg: DictConfig) -> tuple[DictConfig, SourcePolicy]:
    """The config with the source run's training side, and that run's policy."""
    from cdss.tracking import load_source_run

    run_id = str(cfg.from_run)
    try:
        config_text, q_table = load_source_run(tracking_uri_of(cfg), run_id)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    source = OmegaConf.create(config_text)
    # Typed groups merge (their schema fixes the keys); `algo` is replaced whole, since a
    # baseline's node has none of a learner's keys.
    merged = OmegaConf.merge(cfg, OmegaConf.masked_copy(source, ["kb", "reward", "env"]))
    assert isinstance(merged, DictConfig)
    with open_dict(merged):
        for key in ("algo", "seed", "n_episodes"):
            merged[key] = source[key]
    validate(merged)
    policy = SourcePolicy(run_id, q_table, int(source.missing), str(source.mechanism.name))
    return merged, policy


def execute(
    cfg: DictConfig,
    on_progress: Callable[[int], None] | None = None,
    source: SourcePolicy | None = None,
) -> JobResult:
    """Build the knowledge base, environments and agent from config; train; evaluate.

    With a source policy, training is skipped and that policy is evaluated instead.
    """
    from cdss.evaluation import evaluate
    from cdss.training import TrainingHistory, train

    tic = time.perf_counter()
    kb = build(cfg.kb)
    reward = build(cfg.reward)

    def make_env() -> Any:
        return build(
            cfg.env, kb=kb, reward=reward, mechanism=build(cfg.mechanism), missing=cfg.missing
        )

    env = make_env()
    n_states = int(env.n_belief_states)
    agent = build(
        cfg.algo,
        n_states=n_states,
        n_actions=int(env.action_space.n),
        seed=int(cfg.seed),
        **({"n_episodes": int(cfg.n_episodes)} if "epsilon_decay_fraction" in cfg.algo else {}),
    )
    build_seconds = time.perf_counter() - tic
    log.info(
        "Built kb=%s (%d drugs), env missing=%d%% mechanism=%s, agent %s over %d belief states",
        cfg.kb.name,
        len(kb.drugs),
        cfg.missing,
        cfg.mechanism.name,
        cfg.algo.name,
        n_states,
    )

    tic = started_at = time.perf_counter()
    extra_tags: dict[str, str] = {}
    if source is None:
        history = train(
            env, agent, int(cfg.n_episodes), seed=int(cfg.seed), on_progress=on_progress
        )
    else:
        if source.q_table is not None:
            if source.q_table.shape != agent.q.shape:
                raise ValueError(
                    f"from_run={source.run_id}: its Q-table has shape {source.q_table.shape}, "
                    f"this environment needs {agent.q.shape}"
                )
            agent.q = source.q_table
        empty = np.zeros(0)
        history = TrainingHistory(empty, empty.astype(np.int64), empty, empty)
        extra_tags = {
            "source_run": source.run_id,
            "source_missing": str(source.missing),
            "source_mechanism": source.mechanism,
        }
    train_seconds = time.perf_counter() - tic

    tic = time.perf_counter()
    eval_env = make_env()
    val_metrics = evaluate(
        eval_env, agent, eval_env.make_cohort(cfg.eval.val_seed, cfg.eval.val_size)
    )
    test_metrics = evaluate(
        eval_env, agent, eval_env.make_cohort(cfg.eval.test_seed, cfg.eval.test_size)
    )
    eval_seconds = time.perf_counter() - tic

    curves = {
        "train/episode_return": history.returns,
        "train/epsilon": history.epsilons,
        "train/td_error": history.td_errors,
        "train/episode_length": history.lengths,
    }
    q_table = getattr(agent, "q", None)
    return JobResult(
        kb_name=str(cfg.kb.name),
        kb_hash=kb.content_hash,
        n_states=n_states,
        test_metrics=test_metrics,
        val_metrics=val_metrics,
        curves=curves,
        q_table=None if q_table is None else np.asarray(q_table),
        layout=observation_layout(env.observation_space),
        started_at=started_at,
        extra_tags=extra_tags,
        train_metrics=train_summary(history, agent) if source is None else {},
        timings={
            "time/build_seconds": build_seconds,
            "time/train_seconds": train_seconds,
            "time/eval_seconds": eval_seconds,
            "time/train_episodes_per_second": len(history.returns) / max(train_seconds, 1e-9),
        },
    )


def observation_layout(space: Any) -> tuple[list[str], list[int]]:
    """Names and sizes of the observation's parts, the input schema of the logged policy."""
    from gymnasium import spaces

    from cdss.env.observation import FEATURES

    if isinstance(space, spaces.Discrete):
        return ["state"], [int(space.n)]
    nvec = [int(n) for n in np.asarray(space.nvec).ravel()]
    names = list(FEATURES) if len(FEATURES) == len(nvec) else [f"x{i}" for i in range(len(nvec))]
    return names, nvec


def train_summary(history: Any, agent: Any) -> dict[str, float]:
    """Single-figure training metrics: when the return settled, how much of the table was seen."""
    metrics = {"train/convergence_episode": float(history.convergence_episode())}
    if hasattr(agent, "states_visited"):
        metrics["train/states_visited"] = float(agent.states_visited)
        metrics["train/states_visited_share"] = agent.states_visited / max(agent.q.shape[0], 1)
    return metrics


# -- tracking ----------------------------------------------------------------------------------


def flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys for MLflow params: {'algo': {'name': 'q'}} -> {'algo.name': 'q'}."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


@cache
def git_commit() -> str:
    """The commit of the checkout that holds launch.py, or 'unknown' outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_version() -> str:
    try:
        return metadata.version("cdss")
    except metadata.PackageNotFoundError:
        return "unknown"


def task_overrides() -> list[str]:
    """The overrides of this job as Hydra recorded them (empty outside Hydra)."""
    if HydraConfig.initialized():
        return list(HydraConfig.get().overrides.task)
    return []


def job_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved job config without Hydra's own node, as tracked."""
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    container.pop("hydra", None)
    return container


def run_name(cfg: DictConfig) -> str:
    return f"{cfg.algo.name}-missing{cfg.missing}-{cfg.mechanism.name}-seed{cfg.seed}"


def track(cfg: DictConfig, overrides: list[str], work: Callable[[], JobResult]) -> JobResult:
    """Run `work` inside one MLflow run: config before, results after, FAILED if it raises."""
    from cdss.tracking import JobRun

    uri = tracking_uri_of(cfg)
    tags = {
        "git_commit": git_commit(),
        "cdss_version": package_version(),
        "overrides": " ".join(overrides),
        "test_cohort_seed": str(cfg.eval.test_seed),
        "test_cohort_size": str(cfg.eval.test_size),
        "val_cohort_seed": str(cfg.eval.val_seed),
        "algo": str(cfg.algo.name),
    }
    if HydraConfig.initialized():
        tags["hydra_job_num"] = str(HydraConfig.get().job.get("num", ""))
    trial = os.environ.get(TRIAL_NUMBER_ENV)
    if trial:
        tags["optuna.trial_number"] = trial
    parent = os.environ.get(PARENT_RUN_ENV)
    with JobRun(uri, str(cfg.mlflow.experiment_name), run_name(cfg), tags, parent) as run:
        config = job_config(cfg)
        run.log_params(flatten(config))
        run.log_files(
            {
                "config.yaml": OmegaConf.to_yaml(config),
                "overrides.yaml": OmegaConf.to_yaml(OmegaConf.create(overrides)),
            }
        )
        tic = time.perf_counter()
        result = work()
        run.set_tags(
            {
                "kb_hash": result.kb_hash,
                "kb_name": result.kb_name,
                "n_belief_states": result.n_states,
                **result.extra_tags,
            }
        )
        run.log_curves(result.curves, max_points=int(cfg.mlflow.curve_points))
        run.log_metrics({f"eval/{k}": v for k, v in result.test_metrics.items()})
        run.log_metrics({f"val/{k}": v for k, v in result.val_metrics.items()})
        run.log_metrics({"train/states": result.n_states, **result.train_metrics, **result.timings})
        run.log_files(artifact_files(result), "results")
        if result.q_table is not None:
            run.log_policy(result.q_table, *result.layout)
        result.timings["time/tracking_seconds"] = time.perf_counter() - tic
    return result


def artifact_files(result: JobResult) -> dict[str, bytes | str]:
    """The full-resolution training curves as CSV and the Q-table as .npy."""
    names = list(result.curves)
    columns = np.column_stack([result.curves[name] for name in names])
    text = io.StringIO()
    text.write("episode," + ",".join(n.split("/")[-1] for n in names) + "\n")
    for episode, row in enumerate(columns):
        text.write(f"{episode}," + ",".join(f"{v:.6g}" for v in row) + "\n")
    files: dict[str, bytes | str] = {"curves.csv": text.getvalue()}
    if result.q_table is not None:
        buffer = io.BytesIO()
        np.save(buffer, result.q_table)
        files["q_table.npy"] = buffer.getvalue()
    return files


# -- the job -----------------------------------------------------------------------------------


class Progress:
    """A progress bar in a terminal, a log line every tenth of the way otherwise."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.bar = None
        self.last_logged = 0
        interactive = sys.stderr.isatty() if enabled is None else enabled
        if interactive:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="ep", desc="train", leave=False)

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()
        elif done * 10 // self.total > self.last_logged * 10 // self.total or done == self.total:
            log.info("train: %d/%d episodes", done, self.total)
        self.last_logged = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary_table(cfg: DictConfig, result: JobResult) -> str:
    """A short table of the test-cohort metrics, for the end of a run."""
    lines = [
        f"{run_name(cfg)}: test cohort of {cfg.eval.test_size} orders (seed {cfg.eval.test_seed})",
        f"  {'metric':<22}{'value':>10}",
    ]
    for key in METRIC_ORDER:
        value = result.test_metrics.get(key, float("nan"))
        lines.append(f"  {key:<22}{value:>10.3f}")
    lines.append(
        f"  {'train episodes/s':<22}{result.timings['time/train_episodes_per_second']:>10.0f}"
    )
    return "\n".join(lines)


def run_job(cfg: DictConfig) -> float:
    """Validate, then train and evaluate inside one MLflow run; return the sweep objective."""
    validate(cfg)
    source = None
    if cfg.from_run:
        cfg, source = adopt_source_run(cfg)
    progress = Progress(int(cfg.n_episodes), cfg.progress)
    try:
        if cfg.mlflow.enabled:
            result = track(cfg, task_overrides(), lambda: execute(cfg, progress, source))
        else:
            result = execute(cfg, progress, source)
    finally:
        progress.close()
    print(summary_table(cfg, result))
    return result.objective
