"""Callbacks of the training loop: validation, early stopping, checkpoints.

A callback runs after every `every` episodes (0: never) and may read the trainer (its agent,
episode index, validation results) or end training by setting `trainer.stop_reason`. Its own
state goes into checkpoints through `state_dict` / `load_state_dict`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cdss.training.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from cdss.agents.base import Agent
    from cdss.training.trainer import Trainer

log = logging.getLogger(__name__)

Evaluator = Callable[["Agent"], dict[str, float]]


class Callback:
    """Does nothing; subclasses override the hooks they need."""

    every = 0

    def on_train_start(self, trainer: Trainer) -> None:
        return None

    def on_interval(self, trainer: Trainer) -> None:
        return None

    def on_train_end(self, trainer: Trainer) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


class Validation(Callback):
    """Evaluate the greedy policy on the validation cohort every `every` episodes.

    The results go to `trainer.validation` as (episodes done, metrics): the `val/` curve, and
    what early stopping watches. `evaluate` must not disturb training (evaluation runs greedy in
    `agent.seeded(...)` on its own environment).
    """

    def __init__(self, evaluate: Evaluator, every: int) -> None:
        if every < 1:
            raise ValueError(f"validation needs every >= 1, got {every}")
        self.evaluate = evaluate
        self.every = int(every)

    def on_interval(self, trainer: Trainer) -> None:
        metrics = self.evaluate(trainer.agent)
        trainer.validation.append((trainer.episode, metrics))
        log.info(
            "validation at episode %d: mean return %.4f", trainer.episode, metrics["mean_return"]
        )


class EarlyStopping(Callback):
    """Stop when the validation `monitor` has not improved by more than `min_delta` over the
    best so far for `patience` evaluations in a row.

    Reads the latest `Validation` result, so it must come after it in the callback list and
    share its `every`. With `restore_best`, the agent ends training with the tables of its best
    evaluation (a learner's; a baseline has none to restore).
    """

    def __init__(
        self,
        every: int,
        patience: int,
        min_delta: float = 0.0,
        restore_best: bool = True,
        monitor: str = "mean_return",
    ) -> None:
        if patience < 1 or min_delta < 0:
            raise ValueError(f"need patience >= 1 and min_delta >= 0, got {patience}, {min_delta}")
        self.every = int(every)
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)
        self.monitor = monitor
        self.best = -math.inf
        self.best_episode = -1
        self.wait = 0
        self.best_tables: dict[str, np.ndarray] | None = None

    def on_interval(self, trainer: Trainer) -> None:
        if not trainer.validation or trainer.validation[-1][0] != trainer.episode:
            raise RuntimeError("EarlyStopping needs a Validation callback before it, same every")
        value = trainer.validation[-1][1][self.monitor]
        if value > self.best + self.min_delta:
            self.best, self.best_episode, self.wait = value, trainer.episode, 0
            if self.restore_best and hasattr(trainer.agent, "tables"):
                self.best_tables = trainer.agent.tables()
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_reason = (
                f"early stop at episode {trainer.episode}: validation {self.monitor} has not "
                f"improved on {self.best:.4f} (episode {self.best_episode}) by more than "
                f"{self.min_delta:g} for {self.patience} evaluations"
            )
            log.info("%s", trainer.stop_reason)

    def on_train_end(self, trainer: Trainer) -> None:
        if self.best_tables is not None and self.best_episode != trainer.episode:
            learner: Any = trainer.agent  # has tables, since it gave us best_tables
            learner.load_tables(self.best_tables)
            log.info("restored the tables of episode %d (best validation)", self.best_episode)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_episode": self.best_episode,
            "wait": self.wait,
            "best_tables": self.best_tables,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_episode = int(state["best_episode"])
        self.wait = int(state["wait"])
        self.best_tables = state["best_tables"]


class Checkpointer(Callback):
    """Write the trainer's state to `path` every `every` episodes, replacing the last one.

    `extra` is saved beside it (the job stores its config hash and MLflow run id there).
    """

    def __init__(self, path: str | Path, every: int, extra: Mapping[str, Any] | None = None):
        if every < 1:
            raise ValueError(f"checkpoints need every >= 1, got {every}")
        self.path = Path(path)
        self.every = int(every)
        self.extra = dict(extra or {})

    def on_interval(self, trainer: Trainer) -> None:
        save_checkpoint(self.path, {**self.extra, "trainer": trainer.state_dict()})
        log.info("checkpoint at episode %d: %s", trainer.episode, self.path)
