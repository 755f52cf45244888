"""Safety metrics of DESIGN.md "Metrics", computed over every order of a fixed cohort.

A rate whose denominator is empty (no severe order in the cohort, no alert at all, ...) is NaN,
not 0: "never missed a severe order" and "never met one" must not look alike. A truncated
episode has no decision: it counts as neither alert nor correct.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from cdss.agents.base import Agent, encoder_for
from cdss.env.actions import CORRECT_ACTION, Action
from cdss.env.cdss_env import Cohort
from cdss.env.reward import RISK_LEVELS
from cdss.knowledge import Risk

log = logging.getLogger(__name__)

METRIC_NAMES: tuple[str, ...] = (
    "detection_rate",  # severe (major/contraindicated) orders that got WARN or BLOCK
    "severe_miss_rate",  # 1 - detection_rate
    "false_alert_rate",  # none/minor orders that got WARN or BLOCK
    "alerts_per_100",  # WARN or BLOCK per 100 orders
    "alert_precision",  # alerts whose order is moderate or worse
    "decision_accuracy",  # decision == the right action for the true risk
    "mean_return",
    "requests_per_order",
)
NO_DECISION = -1  # a truncated episode's decision in the arrays below
EVAL_SEED = 0


def _rate(hits: np.ndarray, among: np.ndarray) -> float:
    """Share of `among` that are `hits`; NaN when `among` is empty."""
    total = int(among.sum())
    return float((hits & among).sum() / total) if total else float("nan")


def _mean(values: Sequence[float] | np.ndarray | None) -> float:
    """Mean of a per-order column; NaN when it is absent or empty."""
    if values is None or len(values) == 0:
        return float("nan")
    return float(np.mean(values))


def safety_metrics(
    true_risk: Sequence[int] | np.ndarray,
    decisions: Sequence[int | None] | np.ndarray,
    returns: Sequence[float] | np.ndarray | None = None,
    requests: Sequence[int] | np.ndarray | None = None,
) -> dict[str, float]:
    """The metrics of a list of decided orders (decision None or -1: truncated, no decision).

    Also returns `n_orders`, `n_severe` and the cohort's risk mix as `risk_share_<level>`.
    """
    risk = np.asarray(true_risk, dtype=np.int64)
    decided = np.array([NO_DECISION if d is None else int(d) for d in decisions], dtype=np.int64)
    if risk.shape != decided.shape:
        raise ValueError(f"{len(risk)} true risks but {len(decided)} decisions")
    n = len(risk)
    alert = (decided == Action.WARN) | (decided == Action.BLOCK)
    severe = risk >= Risk.MAJOR
    low = risk <= Risk.MINOR
    correct = decided == np.asarray(CORRECT_ACTION, dtype=np.int64)[risk]

    detection = _rate(alert, severe)
    metrics = {
        "detection_rate": detection,
        "severe_miss_rate": 1.0 - detection,
        "false_alert_rate": _rate(alert, low),
        "alerts_per_100": float(100.0 * alert.mean()) if n else float("nan"),
        "alert_precision": _rate(risk >= Risk.MODERATE, alert),
        "decision_accuracy": float(correct.mean()) if n else float("nan"),
        "mean_return": _mean(returns),
        "requests_per_order": _mean(requests),
        "n_orders": float(n),
        "n_severe": float(severe.sum()),
    }
    shares = np.bincount(risk, minlength=len(RISK_LEVELS)) / max(n, 1)
    metrics.update({f"risk_share_{level}": float(s) for level, s in zip(RISK_LEVELS, shares,
                                                                        strict=True)})  # fmt: skip
    return metrics


def evaluate(env: gym.Env, agent: Agent, cohort: Cohort, seed: int = EVAL_SEED) -> dict[str, float]:
    """Play every order of `cohort` greedily and return `safety_metrics` over them.

    Deterministic for a given policy and cohort: the agent acts greedily inside
    `agent.seeded(seed)` (greedy ties, the random baseline), and its training stream is
    restored afterwards.
    """
    base = env.unwrapped
    base.load_cohort(cohort)
    agent.bind(env)
    encode = encoder_for(env.observation_space)
    n = len(cohort)
    true_risk = np.zeros(n, dtype=np.int64)
    decisions = np.full(n, NO_DECISION, dtype=np.int64)
    returns = np.zeros(n, dtype=np.float64)
    requests = np.zeros(n, dtype=np.int64)

    with agent.seeded(seed):
        for index in range(n):
            observation, _ = env.reset(options={"cohort_index": index})
            total = 0.0
            while True:
                action = agent.act(encode(observation), greedy=True)
                observation, reward, terminated, truncated, info = env.step(action)
                total += reward
                if terminated or truncated:
                    break
            true_risk[index] = info["true_risk"]
            if info["decision"] is not None:
                decisions[index] = info["decision"]
            returns[index] = total
            requests[index] = info["requests"]

    metrics = safety_metrics(true_risk, decisions, returns, requests)
    log.info(
        "Evaluated %s on %d orders (cohort seed %s): detection %.3f, false alerts %.3f, "
        "accuracy %.3f, mean return %.3f",
        agent.name, n, cohort.seed, metrics["detection_rate"], metrics["false_alert_rate"],
        metrics["decision_accuracy"], metrics["mean_return"],
    )  # fmt: skip
    return metrics
