"""Hydra's Optuna sweeper, made resumable and tolerant of failed trials.

The stock sweeper (hydra-optuna-sweeper 1.3 on optuna 2.10) runs `n_trials` more trials on every
call, and one trial that raises or returns NaN aborts the sweep and leaves that trial RUNNING in
the study. This extension keeps the stock search-space parsing, sampler configs and trial
configuration, and changes the loop around them:

- `n_trials` is the size of the whole study: running an interrupted command again finishes it,
  trial numbers continue, and finished trials (completed or failed) are not run again;
- a trial's number is its Hydra job number, so its output folder never overwrites another's;
- a trial that raises, cannot be composed, or returns NaN or infinity is FAIL in Optuna and a
  FAILED child run in MLflow, and the sweep goes on until failures pass `max_failure_rate`;
- trials a crashed sweep left RUNNING are failed when the study resumes;
- the best trial goes to the parent MLflow run and to `optimization_results.yaml`;
- `dry_run=true` shows the search space and the study's progress, and runs nothing.

    python launch.py -m hparams_search=q_optuna hydra.sweeper.n_trials=40
"""

# No `from __future__ import annotations` here: Hydra's plugin scanner executes this module
# before registering it in sys.modules, and dataclasses then cannot resolve string annotations.

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra_plugins.hydra_optuna_sweeper.config import Direction, OptunaSweeperConf
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.cdss_sweepers.basic import SweepFailedError

if TYPE_CHECKING:  # optuna takes seconds to import; Hydra scans this module on every launch
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, Trial

log = logging.getLogger(__name__)

# Trial user attributes written by this sweeper.
ERROR_ATTR = "cdss.error"  # why the trial failed
FAILURE_ATTR = "cdss.failure"  # error | not_finite | interrupted | abandoned
HEARTBEAT_ATTR = "cdss.heartbeat"  # "host:pid@unix-time", renewed while the trial runs
# Failures that say nothing about the search space do not count toward max_failure_rate.
NOT_COUNTED = frozenset({"interrupted", "abandoned"})

HEARTBEAT_SECONDS = 10.0
# A RUNNING trial without a heartbeat this recent belongs to no live sweeper process.
STALE_SECONDS = 60.0


class SweepStoppedError(SweepFailedError, CompactHydraException):
    """Too many trials failed; Hydra prints the message (the failed trials) without a traceback."""


@dataclass
class CdssOptunaSweeperConf(OptunaSweeperConf):
    _target_: str = "hydra_plugins.cdss_sweepers.optuna.CdssOptunaSweeper"
    # The task returns the objective; `objective` only names it in logs, results and MLflow.
    objective: str = "val/mean_return"
    direction: Any = Direction.maximize
    # A relative SQLite path lands in the folder the command was started from; null keeps the
    # study in memory (nothing to resume).
    storage: Any = "sqlite:///optuna.db"
    study_name: str | None = None  # null: the hparams_search option's name, e.g. q_optuna
    n_trials: int = 20  # trials in the whole study, those of earlier runs included
    n_jobs: int = 1  # trials launched together; parallel with hydra/launcher=joblib
    # Stop once failed trials exceed this share of n_trials (interrupted ones do not count).
    max_failure_rate: float = 0.25
    dry_run: bool = False  # show the search space and the study's progress, run nothing


ConfigStore.instance().store(
    group="hydra/sweeper", name="cdss_optuna", node=CdssOptunaSweeperConf, provider="cdss"
)


# -- the study's bookkeeping -------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """Where a study stands: what counts toward n_trials and toward the failure budget."""

    complete: int  # COMPLETE or PRUNED: finished without failing
    failed: int  # counted toward max_failure_rate
    not_counted: int  # interrupted or abandoned trials: finished, but no verdict on the space
    running: int  # live in some sweeper process

    @property
    def finished(self) -> int:
        return self.complete + self.failed + self.not_counted

    @classmethod
    def of(cls, trials: Sequence["FrozenTrial"]) -> "Tally":
        from optuna.trial import TrialState

        failed = [t for t in trials if t.state == TrialState.FAIL]
        not_counted = sum(t.user_attrs.get(FAILURE_ATTR) in NOT_COUNTED for t in failed)
        return cls(
            complete=sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials),
            failed=len(failed) - not_counted,
            not_counted=not_counted,
            running=sum(t.state == TrialState.RUNNING for t in trials),
        )


def failure_budget(n_trials: int, finished: int, max_failure_rate: float) -> float:
    """Failures allowed: the rate applies to the whole study, not to a batch or to the trials
    finished so far, so early failures do not stop a sweep the later trials would carry."""
    return max_failure_rate * max(n_trials, finished)


def consecutive_runs(numbers: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """(first number, start, stop) of each run of consecutive numbers, for job numbering."""
    start = 0
    for index in range(1, len(numbers) + 1):
        if index == len(numbers) or numbers[index] != numbers[index - 1] + 1:
            yield numbers[start], start, index
            start = index


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(owner: str, host: str = "") -> bool:
    """Whether the process named "host:pid" has ended; a process of another host cannot be
    checked and counts as alive."""
    owner_host, _, pid = owner.rpartition(":")
    if owner_host != (host or socket.gethostname()) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False


def is_abandoned(trial: "FrozenTrial", now: float, host: str = "") -> bool:
    """A RUNNING trial whose sweeper process is gone: it never beat (a crash before the first
    beat, or a trial created outside this sweeper), its process on this host has ended, or its
    last beat is older than STALE_SECONDS."""
    owner, _, stamp = str(trial.user_attrs.get(HEARTBEAT_ATTR, "")).rpartition("@")
    try:
        last_beat = float(stamp)
    except ValueError:
        return True
    return process_gone(owner, host) or now - last_beat > STALE_SECONDS


def describe_trial(trial: "FrozenTrial") -> str:
    params = " ".join(f"{k}={v}" for k, v in trial.params.items())
    error = " ".join(str(trial.user_attrs.get(ERROR_ATTR, "failed")).split())  # one line
    return f"trial #{trial.number} ({params}): {error}"


def sqlite_path(storage: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(storage[len(prefix) :]) if storage.startswith(prefix) else None


def safe_url(storage: str | None) -> str:
    """The storage URL without its password, for logs and MLflow."""
    if storage is None:
        return "memory (not resumable)"
    from sqlalchemy.engine.url import make_url

    try:
        return make_url(storage).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL, e.g. redis://; keep only the scheme
        return storage.split("://", 1)[0] + "://..."


class Heartbeat:
    """Renew the heartbeat of running trials from a thread, so that another sweeper process
    resuming the same study leaves them alone while this one still works on them."""

    def __init__(self, trials: Sequence["Trial"]) -> None:
        self.trials = trials
        self.owner = this_process()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="optuna-heartbeat", daemon=True)

    def beat(self) -> None:
        for trial in self.trials:
            trial.set_user_attr(HEARTBEAT_ATTR, f"{self.owner}@{time.time():.0f}")

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # a missed beat must not kill the sweep
                log.warning("Could not renew the trials' heartbeat", exc_info=True)

    def __enter__(self) -> "Heartbeat":
        self.beat()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


# -- MLflow ------------------------------------------------------------------------------------


class ParentRun:
    """The sweep's parent MLflow run (opened by the MlflowParentRun callback), when tracking is
    on: failed trials are marked among its children, the best trial is logged on it."""

    def __init__(self, cfg: DictConfig) -> None:
        from cdss.orchestration.parent import PARENT_RUN_ENV, tracking_uri_of

        self.run_id = os.environ.get(PARENT_RUN_ENV) if cfg.mlflow.enabled else None
        self.client: Any = None
        self.experiment_id = ""
        if self.run_id:
            from mlflow.tracking import MlflowClient

            self.client = MlflowClient(tracking_uri_of(cfg))
            self.experiment_id = self.client.get_run(self.run_id).info.experiment_id

    def mark_trial_failed(self, number: int, params: dict[str, Any], error: str) -> None:
        """Make the trial's child run FAILED with its error; create one if the job never
        opened its own (it failed before tracking started)."""
        if self.client is None:
            return
        from mlflow.entities import Param, RunTag

        query = (
            f"tags.`mlflow.parentRunId` = '{self.run_id}' "
            f"and tags.`optuna.trial_number` = '{number}'"
        )
        runs = self.client.search_runs([self.experiment_id], filter_string=query)
        tags = {"error": error[:5000], "optuna.trial_state": "FAIL"}
        if not runs:
            run = self.client.create_run(
                self.experiment_id,
                run_name=f"trial-{number}",
                tags={"mlflow.parentRunId": str(self.run_id), "optuna.trial_number": str(number)},
            )
            self.client.log_batch(
                run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()]
            )
            runs = [run]
        for run in runs:
            run_tags = [RunTag(k, v) for k, v in tags.items()]
            self.client.log_batch(run.info.run_id, tags=run_tags)
            self.client.set_terminated(run.info.run_id, "FAILED")

    def close_dead_sweeps(self, study_name: str) -> None:
        """Fail what a killed sweep of this study left RUNNING in MLflow: its parent run and
        the runs of its trials, when its process on this host has ended."""
        if self.client is None:
            return
        parents = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`optuna.study_name` = '{study_name}' and tags.`cdss.role` = 'parent' "
                "and attributes.status = 'RUNNING'"
            ),
        )
        for parent in parents:
            owner = parent.data.tags.get("optuna.sweeper", "")
            if parent.info.run_id == self.run_id or not process_gone(owner):
                continue
            children = self.client.search_runs(
                [self.experiment_id],
                filter_string=(
                    f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
                    "and attributes.status = 'RUNNING'"
                ),
            )
            for run in [*children, parent]:
                self.client.set_tag(run.info.run_id, "error", f"sweeper process {owner} died")
                self.client.set_terminated(run.info.run_id, "FAILED")
            log.warning(
                "Closed run %s of a sweep whose process %s died, and %d trial runs",
                parent.info.run_id,
                owner,
                len(children),
            )

    def log(
        self,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        if self.client is None:
            return
        from mlflow.entities import Metric, Param, RunTag

        stamp = int(time.time() * 1000)
        self.client.log_batch(
            str(self.run_id),
            params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
            metrics=[Metric(k, float(v), stamp, 0) for k, v in (metrics or {}).items()],
            tags=[RunTag(k, str(v)[:5000]) for k, v in (tags or {}).items()],
        )


# -- the sweeper -------------------------------------------------------------------------------


class CdssOptunaSweeper(OptunaSweeper):
    """The stock Optuna sweeper with a resumable, failure-tolerant trial loop."""

    def __init__(self, objective: str, dry_run: bool, **stock: Any) -> None:
        try:
            rate = float(stock.get("max_failure_rate", 0.0))
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"hydra.sweeper.max_failure_rate={rate}: expected 0 to 1")
            if not isinstance(stock.get("direction"), str | Direction):
                raise ValueError("hydra.sweeper.direction: cdss_optuna optimizes one objective")
            super().__init__(**stock)
        except Exception as error:
            from cdss.orchestration.parent import close_parent

            close_parent([f"sweeper config: {error}"])  # opened before the sweeper exists
            raise
        self.objective = objective
        self.dry_run = dry_run
        self.pending: list[Trial] = []

    # The stock implementation holds the config, launcher, sampler and study settings.
    @property
    def impl(self) -> Any:
        return self.sweeper

    def sweep(self, arguments: list[str]) -> None:
        from cdss.orchestration.parent import close_parent

        try:
            space, fixed = self.search_space(arguments)
            study_name, storage = self.study_name(), self.storage()
            if self.dry_run:
                self.show_plan(space, fixed, study_name, storage)
                return
            self.run(space, fixed, study_name, storage)
        except SweepFailedError:
            raise  # the parent run is closed already, listing the failed trials
        except BaseException as error:
            reason = f"{type(error).__name__}: {error}".rstrip(": ")
            self.fail_pending("interrupted", reason)
            close_parent([f"sweep stopped: {reason}"])
            raise

    # -- setting up ----------------------------------------------------------------------------

    def search_space(
        self, arguments: list[str]
    ) -> tuple[dict[str, "BaseDistribution"], dict[str, Any]]:
        """The distributions to sample and the fixed overrides, parsed as the stock sweeper does
        (hydra.sweeper.params first, command-line overrides win)."""
        import optuna
        from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides

        if getattr(self.impl.sampler, "func", None) is optuna.samplers.GridSampler:
            raise ValueError(
                "hydra/sweeper/sampler=grid is not supported by cdss_optuna: "
                "run a grid with the default sweeper (python launch.py -m key=a,b)"
            )
        self.impl._process_searchspace_config()
        overrides = self.impl._parse_sweeper_params_config() + list(arguments)
        space, fixed = create_params_from_overrides(overrides)
        space = {**(self.impl.search_space_distributions or {}), **space}
        for name in fixed:
            space.pop(name, None)
        return space, fixed

    def study_name(self) -> str:
        if self.impl.study_name:
            return str(self.impl.study_name)
        choice = OmegaConf.select(self.impl.config, "hydra.runtime.choices.hparams_search")
        return str(choice or "cdss")

    def storage(self) -> str | None:
        """The storage URL, a relative SQLite path made absolute against the start folder."""
        if self.impl.storage is None:
            return None
        storage = str(self.impl.storage)
        path = sqlite_path(storage)
        if path is not None and not path.is_absolute():
            start = Path(str(self.impl.config.hydra.runtime.cwd))
            storage = f"sqlite:///{(start / path).resolve()}"
        return storage

    def direction(self) -> str:
        direction = self.impl.direction
        return direction.name if isinstance(direction, Direction) else str(direction)

    def open_study(self, study_name: str, storage: str | None) -> "optuna.Study":
        import optuna

        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=self.impl.sampler,
            direction=self.direction(),
            load_if_exists=True,
        )
        if study.direction.name.lower() != self.direction():
            raise ValueError(
                f"study {study_name!r} in {safe_url(storage)} was created to "
                f"{study.direction.name.lower()}, not to {self.direction()}: "
                "choose another hydra.sweeper.study_name"
            )
        return study

    def show_plan(
        self, space: dict[str, Any], fixed: dict[str, Any], study_name: str, storage: str | None
    ) -> None:
        """Log what a run of this command would do; create no study, file or MLflow run."""
        tally = Tally(0, 0, 0, 0)
        path = sqlite_path(storage or "")
        if storage is not None and (path is None or path.exists()):
            import optuna

            try:
                study = optuna.load_study(study_name=study_name, storage=storage)
                tally = Tally.of(study.get_trials(deepcopy=False))
            except KeyError:
                pass  # no such study yet
        lines = [
            f"Dry run of study {study_name!r} in {safe_url(storage)}",
            f"  objective: {self.direction()} {self.objective}",
            f"  sampler: {type(self.impl.sampler).__name__}",
            "  search space:",
            *(f"    {name}: {dist}" for name, dist in space.items()),
            "  fixed overrides:",
            *(f"    {name}={value}" for name, value in fixed.items()),
            f"  trials: {tally.finished} finished ({tally.complete} complete, "
            f"{tally.failed + tally.not_counted} failed), {tally.running} running, "
            f"{max(self.impl.n_trials - tally.finished - tally.running, 0)} "
            f"to run of n_trials={self.impl.n_trials}",
            f"  batches of {self.impl.n_jobs}, max_failure_rate={self.impl.max_failure_rate}",
        ]
        log.info("\n".join(lines))

    # -- running -------------------------------------------------------------------------------

    def run(
        self, space: dict[str, Any], fixed: dict[str, Any], study_name: str, storage: str | None
    ) -> None:
        study = self.open_study(study_name, storage)
        parent = ParentRun(self.impl.config)
        parent.log(
            tags={
                "optuna.study_name": study_name,
                "optuna.storage": safe_url(storage),
                "optuna.sweeper": this_process(),
            }
        )
        self.fail_abandoned(study)
        parent.close_dead_sweeps(study_name)
        log.info(
            "Study %r in %s: %s %s over %s",
            study_name,
            safe_url(storage),
            self.direction(),
            self.objective,
            ", ".join(space) or "no parameters",
        )
        sweep_dir = Path(str(self.impl.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.impl.config, sweep_dir / "multirun.yaml")

        while True:
            tally = Tally.of(study.get_trials(deepcopy=False))
            self.check_failures(study, tally, parent)
            to_go = self.impl.n_trials - tally.finished - tally.running
            if to_go <= 0:
                break
            log.info(
                "Study %r: %d of %d trials finished", study_name, tally.finished, self.impl.n_trials
            )
            self.run_batch(study, space, fixed, min(self.impl.n_jobs, to_go), parent)

        tally = Tally.of(study.get_trials(deepcopy=False))
        if tally.running:
            log.warning("%d trials are still running in another sweeper process", tally.running)
        self.report_best(study, tally, parent, sweep_dir)

    def fail_abandoned(self, study: "optuna.Study") -> None:
        """Fail the trials a crashed sweep left RUNNING: they count toward n_trials, not toward
        the failure budget, and are not run again."""
        from optuna.trial import Trial, TrialState

        now = time.time()
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if is_abandoned(frozen, now):
                trial = Trial(study, frozen._trial_id)  # optuna 2 has no public trial id
                trial.set_user_attr(FAILURE_ATTR, "abandoned")
                trial.set_user_attr(ERROR_ATTR, "left RUNNING by a sweep that stopped")
                study.tell(trial, state=TrialState.FAIL)
                log.warning(
                    "Trial #%d was left RUNNING by a stopped sweep: marked FAIL", frozen.number
                )

    def run_batch(
        self,
        study: "optuna.Study",
        space: dict[str, Any],
        fixed: dict[str, Any],
        size: int,
        parent: ParentRun,
    ) -> None:
        """Ask `size` trials, launch those whose config composes, tell every outcome."""
        from cdss.orchestration.job import TRIAL_NUMBER_ENV

        trials = [study.ask() for _ in range(size)]
        self.pending = list(trials)
        overrides = self.impl._configure_trials(trials, space, fixed)
        launchable: list[tuple[Trial, list[str]]] = []
        for trial, trial_overrides in zip(trials, overrides, strict=True):
            job_overrides = [
                *trial_overrides,
                f"++hydra.job.env_set.{TRIAL_NUMBER_ENV}={trial.number}",
            ]
            error = self.compose_error(job_overrides)
            if error:
                self.tell_failed(study, trial, "error", error, parent)
            else:
                launchable.append((trial, job_overrides))
        with Heartbeat([trial for trial, _ in launchable]):
            returns = self.launch(launchable)
        for (trial, _), ret in zip(launchable, returns, strict=True):
            self.tell(study, trial, ret, parent)

    def compose_error(self, overrides: list[str]) -> str | None:
        """Why a trial's config cannot be composed (the launcher would raise for the batch)."""
        try:
            self.impl.hydra_context.config_loader.load_sweep_config(
                master_config=self.impl.config, sweep_overrides=overrides
            )
        except Exception as error:  # any composition error fails one trial
            return f"config does not compose: {type(error).__name__}: {error}"
        return None

    def launch(self, launchable: list[tuple["Trial", list[str]]]) -> list[JobReturn]:
        """Launch trials with their trial number as Hydra job number (the job's folder)."""
        numbers = [trial.number for trial, _ in launchable]
        returns: list[JobReturn] = []
        for first, start, stop in consecutive_runs(numbers):
            batch = [overrides for _, overrides in launchable[start:stop]]
            returns.extend(self.impl.launcher.launch(batch, initial_job_idx=first))
        return returns

    def tell(
        self, study: "optuna.Study", trial: "Trial", ret: JobReturn, parent: ParentRun
    ) -> None:
        from optuna.trial import TrialState

        if ret.status != JobStatus.COMPLETED:
            error = ret._return_value
            self.tell_failed(study, trial, "error", f"{type(error).__name__}: {error}", parent)
            return
        try:
            value = float(ret.return_value)
        except (TypeError, ValueError):
            reason = f"the task returned {ret.return_value!r}, not a number"
            self.tell_failed(study, trial, "not_finite", reason, parent)
            return
        if not math.isfinite(value):
            reason = f"objective {self.objective} is {value}"
            self.tell_failed(study, trial, "not_finite", reason, parent)
            return
        study.tell(trial, value, state=TrialState.COMPLETE)
        self.pending.remove(trial)
        log.info("Trial #%d: %s = %.6g", trial.number, self.objective, value)

    def tell_failed(
        self, study: "optuna.Study", trial: "Trial", kind: str, error: str, parent: ParentRun
    ) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr(FAILURE_ATTR, kind)
        trial.set_user_attr(ERROR_ATTR, error[:2000])
        study.tell(trial, state=TrialState.FAIL)
        self.pending.remove(trial)
        log.warning("Trial #%d failed: %s", trial.number, error)
        if kind != "interrupted":
            parent.mark_trial_failed(trial.number, trial.params, error)

    def fail_pending(self, kind: str, error: str) -> None:
        """Best effort on the way out: fail the trials that were launched but never told."""
        from optuna.trial import TrialState

        for trial in self.pending:
            try:
                trial.set_user_attr(FAILURE_ATTR, kind)
                trial.set_user_attr(ERROR_ATTR, error[:2000])
                trial.study.tell(trial, state=TrialState.FAIL)
            except Exception:  # told already, or the storage is gone
                log.debug("Could not fail trial #%d", trial.number, exc_info=True)
        self.pending = []

    def check_failures(self, study: "optuna.Study", tally: Tally, parent: ParentRun) -> None:
        """Stop, closing the parent run FAILED, once failures exceed the study's budget."""
        from optuna.trial import TrialState

        from cdss.orchestration.parent import close_parent

        rate, n_trials = self.impl.max_failure_rate, self.impl.n_trials
        if tally.failed <= failure_budget(n_trials, tally.finished, rate):
            return
        failed = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if t.user_attrs.get(FAILURE_ATTR) not in NOT_COUNTED
        ]
        lines = [describe_trial(t) for t in failed]
        message = (
            f"Stopped study {study.study_name!r}: {tally.failed} failed trials exceed "
            f"max_failure_rate={rate} of n_trials={n_trials} "
            f"({tally.finished} finished, {tally.complete} complete). Fix the failures, or raise "
            f"hydra.sweeper.max_failure_rate or n_trials and run the command again:\n  "
            + "\n  ".join(lines)
        )
        log.error(message.splitlines()[0])  # Hydra prints the whole message on stderr
        parent.log(tags={"optuna.stopped": "max_failure_rate exceeded"})
        close_parent(lines)
        raise SweepStoppedError(message)

    # -- results -------------------------------------------------------------------------------

    def report_best(
        self, study: "optuna.Study", tally: Tally, parent: ParentRun, sweep_dir: Path
    ) -> None:
        """Write optimization_results.yaml and log the best trial on the parent run."""
        from optuna.trial import TrialState

        results: dict[str, Any] = {
            "name": "cdss_optuna",
            "study_name": study.study_name,
            "objective": self.objective,
            "direction": self.direction(),
            "n_complete": tally.complete,
            "n_failed": tally.failed + tally.not_counted,
        }
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        summary: dict[str, Any] = {
            "optuna/n_complete": tally.complete,
            "optuna/n_failed": tally.failed + tally.not_counted,
        }
        tags = {"n_failed_trials": str(len(failed))}
        if failed:
            tags["failed_trials"] = "\n".join(describe_trial(t) for t in failed)
        params: dict[str, Any] = {"optuna.n_trials": self.impl.n_trials}
        if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            best = study.best_trial
            assert best.value is not None  # a complete trial has its objective value
            results.update(best_trial=best.number, best_params=best.params, best_value=best.value)
            summary[f"best/{self.objective}"] = float(best.value)
            params.update({f"best.{k}": v for k, v in best.params.items()})
            tags["optuna.best_trial_number"] = str(best.number)
            log.info(
                "Best trial #%d: %s = %.6g with %s",
                best.number,
                self.objective,
                best.value,
                best.params,
            )
        else:
            log.warning("Study %r has no complete trial yet", study.study_name)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
        parent.log(params=params, metrics=summary, tags=tags)


__all__ = ["CdssOptunaSweeper", "CdssOptunaSweeperConf"]
