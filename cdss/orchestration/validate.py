"""Range checks that a type alone cannot express, run before any MLflow run exists."""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A config value out of its range; the message names the key and what was expected."""


# key -> (low, high, inclusive-low, inclusive-high, what it means)
_RANGES: dict[str, tuple[float, float, bool, bool, str]] = {
    "missing": (0, 95, True, True, "the percentage of facts hidden"),
    "eval.test_seed": (0, 2**32 - 1, True, True, "the test cohort's seed"),
    "eval.val_seed": (0, 2**32 - 1, True, True, "the validation cohort's seed"),
    "mlflow.curve_points": (2, math.inf, True, True, "the points of a logged curve"),
    "reward.truncation_penalty": (-math.inf, math.inf, False, False, "a finite reward"),
    "n_episodes": (1, math.inf, True, True, "the number of training episodes"),
    "seed": (0, 2**32 - 1, True, True, "the training seed"),
    "algo.alpha": (0, 1, False, True, "the learning rate"),
    "algo.gamma": (0, 1, True, True, "the discount factor"),
    "algo.epsilon_start": (0, 1, True, True, "an exploration probability"),
    "algo.epsilon_end": (0, 1, True, True, "an exploration probability"),
    "algo.epsilon_decay_fraction": (0, 1, True, True, "a share of the training episodes"),
    "algo.alpha_end": (0, 1, False, True, "the learning rate at the end of its schedule"),
    "algo.alpha_decay_fraction": (0, 1, False, True, "a share of the training episodes"),
    "algo.initial_q": (-math.inf, math.inf, False, False, "an initial action value"),
    "train.eval_every": (0, math.inf, True, True, "episodes between validations (0: none)"),
    "train.early_stop.patience": (1, math.inf, True, True, "validations without improvement"),
    "train.early_stop.min_delta": (0, math.inf, True, True, "an improvement (zero or more)"),
    "train.checkpoint.every": (0, math.inf, True, True, "episodes between checkpoints (0: none)"),
    "env.max_steps": (2, 50, True, True, "the step limit of an episode"),
    "env.order_risk_share": (0, 1, True, True, "a share of orders"),
    "eval.test_size": (1, math.inf, True, True, "the size of the test cohort"),
    "eval.val_size": (1, math.inf, True, True, "the size of the validation cohort"),
    "reward.request_cost": (0, math.inf, True, True, "a cost (zero or more)"),
    "reward.empty_request_cost": (0, math.inf, True, True, "a cost (zero or more)"),
}


def _describe(low: float, high: float, low_in: bool, high_in: bool) -> str:
    left = "[" if low_in else "("
    right = "]" if high_in else ")"
    high_text = "inf" if math.isinf(high) else str(int(high)) if high == int(high) else f"{high:g}"
    return f"a value in {left}{low:g}, {high_text}{right}"


def _combinations(cfg: DictConfig) -> list[str]:
    """Settings valid alone but not together."""
    problems = []
    select = OmegaConf.select
    if select(cfg, "algo.epsilon_schedule") == "exponential" and not select(
        cfg, "algo.epsilon_end", default=1.0
    ):
        problems.append(
            "algo.epsilon_schedule=exponential needs algo.epsilon_end > 0 (a geometric decay "
            "never reaches 0; use linear)"
        )
    if select(cfg, "train.early_stop.patience") is not None and not select(
        cfg, "train.eval_every", default=0
    ):
        problems.append("train.early_stop.patience needs train.eval_every > 0 (what it watches)")
    if select(cfg, "env.id") is not None:  # env=gym: no belief state of the prescription env
        if select(cfg, "algo.alpha") is None:
            problems.append(
                f"algo={select(cfg, 'algo.name')} reads the prescription env's belief state; "
                "with env=gym use a tabular learner (q, sarsa, expected_sarsa, double_q)"
            )
        if select(cfg, "algo.encoding") == "belief":
            problems.append(
                "algo.encoding=belief aggregates the prescription env's observation; with "
                "env=gym use algo.encoding=auto or raw"
            )
        if select(cfg, "shield._target_") is not None:
            problems.append(
                f"shield={select(cfg, 'shield.name')} reads the prescription env's belief "
                "state; with env=gym use shield=none"
            )
    return problems


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError for the first value out of range, naming key, value and range."""
    problems = _combinations(cfg)
    for key, (low, high, low_in, high_in, meaning) in _RANGES.items():
        value: Any = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            problems.append(f"{key}={value!r}: expected a number ({meaning})")
            continue
        too_low = value < low or (value == low and not low_in)
        too_high = value > high or (value == high and not high_in)
        if too_low or too_high:
            problems.append(
                f"{key}={value!r} is out of range: expected "
                f"{_describe(low, high, low_in, high_in)} ({meaning})"
            )
    cohort = OmegaConf.select(cfg, "env.cohort", default=None)
    if cohort is not None and str(cohort) == "synthea" and not cfg.env.get("synthea_path"):
        problems.append(
            "env.cohort=synthea needs env.synthea_path: a folder of Synthea CSV files "
            "(e.g. ../shared/data/synthea_nguyen59)"
        )
    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
