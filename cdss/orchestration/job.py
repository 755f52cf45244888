"""One job of the study: build from config, train, evaluate, and track it as one MLflow run."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, cast

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
    "shield_override_rate",
)
GYM_METRIC_ORDER = ("mean_return", "success_rate", "mean_length")
# Validation metrics logged as curves (step = episode) at every train.eval_every.
VAL_CURVE_METRICS = ("mean_return", "success_rate")

CHECKPOINT_FILE = "last.ckpt"
# Top-level keys that say how a job is run, not what it computes: left out of its config hash,
# so a rerun with resume=true (or another tracking URI) finds the same checkpoint.
_NOT_HASHED = ("mlflow", "progress", "resume")


@dataclass
class JobResult:
    """What one job produced, before any of it is tracked."""

    kb_name: str | None  # None for a Gymnasium env (no knowledge base)
    kb_hash: str | None
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
    # Periodic validation: episodes done at each evaluation, and a curve per metric.
    val_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_curves: dict[str, np.ndarray] = field(default_factory=dict)
    gym: bool = False  # trained on a Gymnasium env: returns and success, no clinical metrics

    @property
    def objective(self) -> float:
        """The sweep objective: mean return on the validation cohort, never the test cohort."""
        return float(self.val_metrics["mean_return"])


def build(cfg: DictConfig, drop: Sequence[str] = (), **extra: Any) -> Any:
    """Instantiate a config group option; its `name` (a label for tracking) and the `drop` keys
    (read by the job, not the object) are not arguments."""
    node = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(node, dict)
    for key in ("name", *drop):
        node.pop(key, None)
    return instantiate(node, **extra, _convert_="all")


@dataclass
class SourcePolicy:
    """A policy trained by an earlier run, evaluated here instead of training (`from_run`)."""

    run_id: str
    q_table: np.ndarray | None  # None for a baseline, rebuilt from its config
    missing: int
    mechanism: str


# What a from_run job takes from its source run rather than from its own config.
SOURCE_KEYS = ("algo", "kb", "reward", "env", "seed", "n_episodes")


def adopt_source_run(cfg: DictConfig) -> tuple[DictConfig, SourcePolicy]:
    """The config with the source run's training side, and that run's policy."""
    from cdss.tracking import load_source_run

    run_id = str(cfg.from_run)
    replaced = [
        override
        for override in task_overrides()
        if override.lstrip("+~").split("=")[0].split(".")[0].split("/")[0] in SOURCE_KEYS
    ]
    if replaced:
        raise ConfigError(
            f"from_run={run_id} evaluates that run's trained policy with its own "
            f"{', '.join(SOURCE_KEYS)}; drop the overrides {replaced} (only missing, mechanism "
            "and eval.* apply to a from_run job)"
        )
    try:
        config_text, q_table = load_source_run(tracking_uri_of(cfg), run_id)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    source = OmegaConf.create(config_text)
    assert isinstance(source, DictConfig)
    if q_table is None and "epsilon_decay_fraction" in source.algo:
        raise ConfigError(
            f"from_run={run_id}: the run trained {source.algo.name} but has no logged policy "
            "model (deleted?), so there is nothing to evaluate"
        )
    # Typed groups merge (their schema fixes the keys); `algo` is replaced whole, since a
    # baseline's node has none of a learner's keys.
    merged = OmegaConf.merge(cfg, OmegaConf.masked_copy(source, ["kb", "reward", "env"]))
    assert isinstance(merged, DictConfig)
    with open_dict(merged):
        for key in ("algo", "seed", "n_episodes"):
            merged[key] = source[key]
        if "epsilon_decay_fraction" in merged.algo and "encoding" not in merged.algo:
            merged.algo.encoding = "raw"  # learned before the belief encoding existed
    validate(merged)
    policy = SourcePolicy(run_id, q_table, int(source.missing), str(source.mechanism.name))
    return merged, policy


def is_gym(cfg: DictConfig) -> bool:
    """Whether the job runs a registered Gymnasium environment (env=gym) rather than ours."""
    return OmegaConf.select(cfg, "env.id") is not None


def encoding_of(cfg: DictConfig) -> str:
    """A tabular learner's table rows: `belief` (cdss.agents.belief) on the prescription env,
    `raw` (one row per observation) on a Gymnasium env, unless algo.encoding says which."""
    encoding = str(OmegaConf.select(cfg, "algo.encoding", default="auto"))
    if encoding == "auto":
        return "raw" if is_gym(cfg) else "belief"
    return encoding


@dataclass
class JobParts:
    """What a job trains and evaluates, built from config."""

    env: Any
    agent: Any
    n_states: int
    kb_name: str | None
    kb_hash: str | None
    validate: Callable[[Any], dict[str, float]]  # agent -> metrics on the validation cohort
    test: Callable[[Any], dict[str, float]]  # agent -> metrics on the test cohort
    shield: Any = None


def build_parts(cfg: DictConfig) -> JobParts:
    """The environments, agent, shield and both evaluations of a job.

    The prescription env gets the knowledge base, reward and mechanism, and is evaluated on
    fixed cohorts; a Gymnasium env is evaluated on greedy episodes with fixed seeds
    (eval.*_seed + i). Evaluation runs on its own env, so it never moves the training stream.
    """
    from cdss.agents import n_states_of
    from cdss.agents.belief import belief_rows
    from cdss.evaluation import evaluate, evaluate_episodes

    if is_gym(cfg):
        env, eval_env = build(cfg.env), build(cfg.env)
        kb_name = kb_hash = None
        test_seeds = range(cfg.eval.test_seed, cfg.eval.test_seed + cfg.eval.test_size)
        val_seeds = range(cfg.eval.val_seed, cfg.eval.val_seed + cfg.eval.val_size)

        def test(agent: Any) -> dict[str, float]:
            return evaluate_episodes(eval_env, agent, test_seeds)

        def validation(agent: Any) -> dict[str, float]:
            return evaluate_episodes(eval_env, agent, val_seeds)

    else:
        kb = build(cfg.kb)
        reward = build(cfg.reward)

        def make_env() -> Any:
            mechanism = build(cfg.mechanism)
            return build(cfg.env, kb=kb, reward=reward, mechanism=mechanism, missing=cfg.missing)

        env, eval_env = make_env(), make_env()
        kb_name, kb_hash = str(cfg.kb.name), kb.content_hash
        test_cohort = eval_env.make_cohort(cfg.eval.test_seed, cfg.eval.test_size)
        val_cohort = eval_env.make_cohort(cfg.eval.val_seed, cfg.eval.val_size)

        def test(agent: Any) -> dict[str, float]:
            return evaluate(eval_env, agent, test_cohort)

        def validation(agent: Any) -> dict[str, float]:
            return evaluate(eval_env, agent, val_cohort)

    n_states = n_states_of(env.observation_space)
    n_actions = int(env.action_space.n)
    extra: dict[str, Any] = {}
    if "epsilon_decay_fraction" in cfg.algo:  # a tabular learner
        extra["n_episodes"] = int(cfg.n_episodes)
        if encoding_of(cfg) == "belief":
            extra["state_map"] = belief_rows(int(cfg.env.max_steps))
    agent = build(
        cfg.algo,
        drop=("encoding",),
        n_states=n_states,
        n_actions=n_actions,
        seed=int(cfg.seed),
        **extra,
    )
    shield = None
    if cfg.shield._target_ is not None:
        shield = build(cfg.shield, n_states=n_states, n_actions=n_actions)
    return JobParts(env, agent, n_states, kb_name, kb_hash, validation, test, shield)


@dataclass
class RunHandle:
    """The MLflow run of a job: the one to reopen on resume, then the one in use."""

    run_id: str | None = None


def start_folder() -> Path:
    """The folder the command was started from (Hydra may have changed into its run folder)."""
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.cwd)
    return Path.cwd()


def config_hash(cfg: DictConfig) -> str:
    """A short hash of what the job computes: its config without how it is run (mlflow,
    progress, resume) and where and how often it checkpoints."""
    config = job_config(cfg)
    for key in _NOT_HASHED:
        config.pop(key, None)
    if isinstance(config.get("train"), dict):
        config["train"].pop("checkpoint", None)
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def checkpoint_path(cfg: DictConfig) -> Path:
    """`<train.checkpoint.dir>/<config hash>/last.ckpt`, relative to the start folder: found
    by the job's config, whatever Hydra's timestamped run folder."""
    folder = Path(str(cfg.train.checkpoint.dir))
    if not folder.is_absolute():
        folder = start_folder() / folder
    return folder / config_hash(cfg) / CHECKPOINT_FILE


def find_checkpoint(cfg: DictConfig) -> dict[str, Any] | None:
    """The job's last checkpoint for resume=true, or None (with a warning) if there is none."""
    from cdss.training import load_checkpoint

    path = checkpoint_path(cfg)
    if not path.is_file():
        log.warning("resume=true but no checkpoint at %s: starting from episode 0", path)
        return None
    checkpoint = load_checkpoint(path)
    if checkpoint.get("config_hash") != config_hash(cfg):
        raise ConfigError(
            f"{path} belongs to another config (hash {checkpoint.get('config_hash')})"
        )
    log.info(
        "Resuming from %s at episode %d (MLflow run %s)",
        path, checkpoint["trainer"]["episode"], checkpoint.get("run_id"),
    )  # fmt: skip
    return checkpoint


def discard_checkpoint(cfg: DictConfig) -> None:
    """Remove the checkpoints of a job that has finished: its results are tracked."""
    folder = checkpoint_path(cfg).parent
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        log.info("Removed the checkpoints of the finished job: %s", folder)
        with contextlib.suppress(OSError):  # the checkpoint folder itself, once empty
            folder.parent.rmdir()


def training_callbacks(cfg: DictConfig, parts: JobParts, handle: RunHandle) -> list[Any]:
    """Validation curve, early stopping and checkpoints, in the order they must run."""
    from cdss.training import Checkpointer, EarlyStopping, Validation

    callbacks: list[Any] = []
    every = int(cfg.train.eval_every)
    if every > 0:
        callbacks.append(Validation(parts.validate, every))
        stop = cfg.train.early_stop
        if stop.patience is not None:
            callbacks.append(
                EarlyStopping(every, int(stop.patience), float(stop.min_delta), stop.restore_best)
            )
    if int(cfg.train.checkpoint.every) > 0:
        extra = {"config_hash": config_hash(cfg), "run_id": handle.run_id}
        callbacks.append(Checkpointer(checkpoint_path(cfg), int(cfg.train.checkpoint.every), extra))
    return callbacks


def execute(
    cfg: DictConfig,
    on_progress: Callable[[int], None] | None = None,
    source: SourcePolicy | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    handle: RunHandle | None = None,
) -> JobResult:
    """Build the environments and agent from config; train; evaluate.

    With a source policy, training is skipped and that policy is evaluated instead. With a
    checkpoint, training continues where it stopped, with the same result as a run that never
    stopped.
    """
    from cdss.agents import ShieldedAgent
    from cdss.training import Trainer, TrainingHistory

    tic = time.perf_counter()
    parts = build_parts(cfg)
    agent = parts.agent
    build_seconds = time.perf_counter() - tic
    log.info(
        "Built env %s%s, agent %s over %d observed states (%d table rows), shield %s",
        cfg.env.name,
        "" if is_gym(cfg) else f" (kb={cfg.kb.name}, missing={cfg.missing}%, {cfg.mechanism.name})",
        cfg.algo.name,
        parts.n_states,
        getattr(agent, "n_rows", parts.n_states),
        cfg.shield.name,
    )

    extra_tags: dict[str, str] = {}
    if source is not None and source.q_table is not None:
        expected = (agent.n_states, agent.n_actions)
        if source.q_table.shape != expected:
            raise ValueError(
                f"from_run={source.run_id}: its Q-table has shape {source.q_table.shape}, "
                f"this environment needs {expected}"
            )
        agent.load_policy_table(source.q_table)
    if parts.shield is not None:
        agent = ShieldedAgent(agent, parts.shield)

    tic = started_at = time.perf_counter()
    if source is None:
        bootstrap = cfg.train.bootstrap_truncated
        trainer = Trainer(
            parts.env,
            agent,
            int(cfg.n_episodes),
            seed=int(cfg.seed),
            callbacks=training_callbacks(cfg, parts, handle or RunHandle()),
            on_progress=on_progress,
            bootstrap_truncated=is_gym(cfg) if bootstrap is None else bool(bootstrap),
        )
        if checkpoint is not None:
            trainer.load_state_dict(checkpoint["trainer"])
            extra_tags["resumed_from_episode"] = str(trainer.episode)
        history = trainer.run()
        agent = trainer.agent
    else:
        empty = np.zeros(0)
        history = TrainingHistory(empty, empty.astype(np.int64), empty, empty)
        extra_tags = {
            "source_run": source.run_id,
            "source_missing": str(source.missing),
            "source_mechanism": source.mechanism,
        }
    train_seconds = time.perf_counter() - tic

    tic = time.perf_counter()
    val_metrics = parts.validate(agent)
    test_metrics = parts.test(agent)
    eval_seconds = time.perf_counter() - tic

    curves = {
        "train/episode_return": history.returns,
        "train/epsilon": history.epsilons,
        "train/td_error": history.td_errors,
        "train/episode_length": history.lengths,
    }
    val_steps, val_curves = validation_curves(history.validation, history.n_episodes)
    # Logged per observation, whatever rows the agent learned: what the policy model reads.
    q_table = agent.policy_table() if hasattr(agent, "policy_table") else None
    return JobResult(
        kb_name=parts.kb_name,
        kb_hash=parts.kb_hash,
        n_states=int(getattr(agent, "n_rows", parts.n_states)),
        test_metrics=test_metrics,
        val_metrics=val_metrics,
        curves=curves,
        q_table=q_table,
        layout=observation_layout(parts.env.observation_space, generic=is_gym(cfg)),
        started_at=started_at,
        extra_tags=extra_tags,
        train_metrics=train_summary(history, agent) if source is None else {},
        timings={
            "time/build_seconds": build_seconds,
            "time/train_seconds": train_seconds,
            "time/eval_seconds": eval_seconds,
            "time/train_episodes_per_second": len(history.returns) / max(train_seconds, 1e-9),
        },
        val_steps=val_steps,
        val_curves=val_curves,
        gym=is_gym(cfg),
    )


def validation_curves(
    validation: Sequence[tuple[int, dict[str, float]]], final_step: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The periodic validation results as curves, without a point at the final step: the
    final `val/` metrics are logged there (after restoring the best tables, if so configured),
    and MLflow's latest value of a metric is the one at the highest step."""
    points = [(episode, metrics) for episode, metrics in validation if episode < final_step]
    steps = np.array([episode for episode, _ in points], dtype=np.int64)
    curves = {
        f"val/{key}": np.array([metrics[key] for _, metrics in points], dtype=np.float64)
        for key in VAL_CURVE_METRICS
        if points and all(key in metrics for _, metrics in points)
    }
    return steps, curves


def observation_layout(space: Any, generic: bool = False) -> tuple[list[str], list[int]]:
    """Names and sizes of the observation's parts, the input schema of the logged policy;
    `generic` (a Gymnasium env) names them x0, x1, ... rather than our belief features."""
    from gymnasium import spaces

    from cdss.env.observation import FEATURES

    if isinstance(space, spaces.Discrete):
        return ["state"], [int(space.n)]
    nvec = [int(n) for n in np.asarray(space.nvec).ravel()]
    ours = not generic and len(FEATURES) == len(nvec)
    return (list(FEATURES) if ours else [f"x{i}" for i in range(len(nvec))]), nvec


def train_summary(history: Any, agent: Any) -> dict[str, float]:
    """Single-figure training metrics: when the return settled, how much of the table was
    seen, how many episodes ran (fewer after an early stop), how often a shield overruled."""
    metrics = {
        "train/convergence_episode": float(history.convergence_episode()),
        "train/episodes": float(history.n_episodes),
        "train/stopped_early": float(history.stop_reason is not None),
    }
    if hasattr(agent, "states_visited"):
        metrics["train/states_visited"] = float(agent.states_visited)
        metrics["train/states_visited_share"] = agent.states_visited / max(agent.n_rows, 1)
    tally = getattr(agent, "tally", None)
    if tally is not None and history.n_episodes:
        metrics["train/shield_override_rate"] = tally.overrides / history.n_episodes
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
    return {str(key): value for key, value in container.items()}


def run_name(cfg: DictConfig) -> str:
    if is_gym(cfg):
        return f"{cfg.algo.name}-{cfg.env.id}-seed{cfg.seed}"
    return f"{cfg.algo.name}-missing{cfg.missing}-{cfg.mechanism.name}-seed{cfg.seed}"


def track(
    cfg: DictConfig,
    overrides: list[str],
    work: Callable[[], JobResult],
    handle: RunHandle | None = None,
) -> JobResult:
    """Run `work` inside one MLflow run: config before, results after, FAILED if it raises.

    With `handle.run_id` set (a resumed job), that run is reopened instead of creating one; its
    params and config are already logged. `handle.run_id` then holds the run in use, for the
    checkpoints `work` writes.
    """
    from cdss.tracking import JobRun

    handle = handle if handle is not None else RunHandle()
    resumed = handle.run_id is not None

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
        job = cast(DictConfig, HydraConfig.get().job)  # typed JobConf, a DictConfig at run time
        tags["hydra_job_num"] = str(job.get("num", ""))
    trial = os.environ.get(TRIAL_NUMBER_ENV)
    if trial:
        tags["optuna.trial_number"] = trial
    parent = os.environ.get(PARENT_RUN_ENV)
    name = run_name(cfg)
    experiment = str(cfg.mlflow.experiment_name)
    with JobRun(uri, experiment, name, tags, parent, run_id=handle.run_id) as run:
        handle.run_id = run.run_id
        if not resumed:
            config = job_config(cfg)
            # `resume` says how this job was started, not what it computes: not a param (the
            # report groups runs by their params), but kept in config.yaml.
            run.log_params({k: v for k, v in flatten(config).items() if k != "resume"})
            run.log_files(
                {
                    "config.yaml": OmegaConf.to_yaml(config),
                    "overrides.yaml": OmegaConf.to_yaml(OmegaConf.create(overrides)),
                }
            )
        tic = time.perf_counter()
        result = work()
        tracked_tags: dict[str, Any] = {"n_belief_states": result.n_states, **result.extra_tags}
        if result.kb_name is not None:
            tracked_tags.update(kb_hash=result.kb_hash, kb_name=result.kb_name)
        run.set_tags(tracked_tags)
        if result.q_table is not None:
            # Before the metrics: MLflow copies a run's metrics onto each model it logs.
            run.log_policy(result.q_table, *result.layout)
        final_step = len(result.curves["train/episode_return"])
        # Episode lengths stay in the curves.csv artifact: every metric point is a SQLite row.
        metric_curves = {k: v for k, v in result.curves.items() if k != "train/episode_length"}
        run.log_curves(metric_curves, max_points=int(cfg.mlflow.curve_points))
        steps = {key: result.val_steps for key in result.val_curves}
        run.log_curves(result.val_curves, max_points=int(cfg.mlflow.curve_points), steps=steps)
        run.log_metrics({f"eval/{k}": v for k, v in result.test_metrics.items()})
        # At the last step, so that MLflow's latest val/ value is the final one, not a point of
        # the periodic validation curve.
        run.log_metrics({f"val/{k}": v for k, v in result.val_metrics.items()}, step=final_step)
        run.log_metrics({"train/states": result.n_states, **result.train_metrics, **result.timings})
        run.log_files(artifact_files(result), "results")
        result.timings["time/tracking_seconds"] = time.perf_counter() - tic
    return result


def artifact_files(result: JobResult) -> dict[str, bytes | str]:
    """The full-resolution training curves as CSV and the Q-table as .npy."""
    names = list(result.curves)
    columns = np.column_stack([result.curves[name] for name in names])
    episodes = np.arange(len(columns)).reshape(-1, 1)
    text = io.StringIO()
    header = "episode," + ",".join(n.split("/")[-1] for n in names)
    np.savetxt(
        text, np.hstack([episodes, columns]), fmt="%.6g", delimiter=",", header=header, comments=""
    )
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
    what = "episodes (seeds from" if result.gym else "orders (seed"
    lines = [
        f"{run_name(cfg)}: test cohort of {cfg.eval.test_size} {what} {cfg.eval.test_seed})",
        f"  {'metric':<22}{'value':>10}",
    ]
    for key in GYM_METRIC_ORDER if result.gym else METRIC_ORDER:
        if key not in result.test_metrics and key == "shield_override_rate":
            continue
        value = result.test_metrics.get(key, float("nan"))
        lines.append(f"  {key:<22}{value:>10.3f}")
    lines.append(
        f"  {'train episodes/s':<22}{result.timings['time/train_episodes_per_second']:>10.0f}"
    )
    visited = result.train_metrics.get("train/states_visited")
    if visited is not None:  # the size of the agent's state encoding, and how much of it it saw
        lines.append(f"  {'states (visited)':<22}{result.n_states:>10} ({visited:.0f})")
    return "\n".join(lines)


def run_job(cfg: DictConfig) -> float:
    """Validate, then train and evaluate inside one MLflow run; return the sweep objective.

    With resume=true, training continues from the job's last checkpoint (found by its config
    hash) inside the MLflow run that checkpoint names. A job that finishes removes its
    checkpoints.
    """
    validate(cfg)
    source = None
    if cfg.from_run:
        cfg, source = adopt_source_run(cfg)
    checkpoint = find_checkpoint(cfg) if cfg.resume and source is None else None
    handle = RunHandle(checkpoint.get("run_id") if checkpoint else None)
    progress = Progress(int(cfg.n_episodes), cfg.progress)
    try:
        if cfg.mlflow.enabled:
            result = track(
                cfg,
                task_overrides(),
                lambda: execute(cfg, progress, source, checkpoint, handle),
                handle,
            )
        else:
            result = execute(cfg, progress, source, checkpoint, handle)
    finally:
        progress.close()
    if source is None:
        discard_checkpoint(cfg)
    print(summary_table(cfg, result))
    return result.objective
