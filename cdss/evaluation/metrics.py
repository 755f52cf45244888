"""Safety metrics of DESIGN.md "Metrics", computed over every order of a fixed cohort.

A rate whose denominator is empty (no severe order in the cohort, no alert at all, ...) is NaN,
not 0: "never missed a severe order" and "never met one" must not look alike. A truncated
episode has no decision: it counts as neither alert nor correct.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from cdss.agents.base import Agent, Encoder, encoder_for
from cdss.agents.shield import ShieldedAgent, ShieldTally
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


@dataclass(frozen=True)
class Episode:
    """The outcome of one evaluation episode."""

    total: float  # undiscounted return
    length: int
    last_reward: float
    terminated: bool  # False: truncated
    info: dict[str, Any]  # the final step's info


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


def _shield_tally(agent: Agent) -> AbstractContextManager[ShieldTally | None]:
    """A fresh count of the shield's overrides for this evaluation (None without a shield)."""
    return agent.counting() if isinstance(agent, ShieldedAgent) else nullcontext(None)


def _play(env: gym.Env, agent: Agent, encode: Encoder, observation: Any) -> Episode:
    """One greedy episode from `observation` to its end."""
    total, steps = 0.0, 0
    while True:
        action = agent.act(encode(observation), greedy=True)
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        steps += 1
        if terminated or truncated:
            return Episode(total, steps, float(reward), bool(terminated), info)


def _add_override_rate(metrics: dict[str, float], tally: ShieldTally | None, n: int) -> None:
    """`shield_override_rate`: share of episodes whose decision the shield replaced (at most
    one per episode, since only decisions are replaced and a decision ends the episode)."""
    if tally is not None:
        metrics["shield_override_rate"] = tally.overrides / n if n else float("nan")


def evaluate(env: gym.Env, agent: Agent, cohort: Cohort, seed: int = EVAL_SEED) -> dict[str, float]:
    """Play every order of `cohort` greedily and return `safety_metrics` over them.

    Deterministic for a given policy and cohort: the agent acts greedily inside
    `agent.seeded(seed)` (greedy ties, the random baseline), and its training stream is
    restored afterwards. A shielded agent adds `shield_override_rate`.
    """
    base: Any = env.unwrapped  # the prescription env (cohorts are its own)
    base.load_cohort(cohort)
    agent.bind(env)
    encode = encoder_for(env.observation_space)
    n = len(cohort)
    true_risk = np.zeros(n, dtype=np.int64)
    decisions = np.full(n, NO_DECISION, dtype=np.int64)
    returns = np.zeros(n, dtype=np.float64)
    requests = np.zeros(n, dtype=np.int64)

    with agent.seeded(seed), _shield_tally(agent) as tally:
        for index in range(n):
            observation, _ = env.reset(options={"cohort_index": index})
            episode = _play(env, agent, encode, observation)
            info = episode.info
            true_risk[index] = info["true_risk"]
            if info["decision"] is not None:
                decisions[index] = info["decision"]
            returns[index] = episode.total
            requests[index] = info["requests"]

    metrics = safety_metrics(true_risk, decisions, returns, requests)
    _add_override_rate(metrics, tally, n)
    log.info(
        "Evaluated %s on %d orders (cohort seed %s): detection %.3f, false alerts %.3f, "
        "accuracy %.3f, mean return %.3f",
        agent.name, n, cohort.seed, metrics["detection_rate"], metrics["false_alert_rate"],
        metrics["decision_accuracy"], metrics["mean_return"],
    )  # fmt: skip
    return metrics


def succeeded(episode: Episode) -> bool:
    """The environment's own `is_success` when its final info has one; else the episode
    terminated (not cut by a time limit) on a positive reward, as reaching FrozenLake's goal."""
    if "is_success" in episode.info:
        return bool(episode.info["is_success"])
    return episode.terminated and episode.last_reward > 0


def evaluate_episodes(
    env: gym.Env, agent: Agent, seeds: Sequence[int], seed: int = EVAL_SEED
) -> dict[str, float]:
    """Play one greedy episode per seed of `seeds` (`env.reset(seed=...)`), for any env.

    Returns `mean_return`, `success_rate` (see `succeeded`), `mean_length` and `n_episodes`;
    the safety metrics too when every final `info` carries `true_risk` and `decision` (the
    clinical metrics exist only where the environment provides them), and
    `shield_override_rate` for a shielded agent. Deterministic like `evaluate`.
    """
    agent.bind(env)
    encode = encoder_for(env.observation_space)
    episodes: list[Episode] = []
    with agent.seeded(seed), _shield_tally(agent) as tally:
        for episode_seed in seeds:
            observation, _ = env.reset(seed=int(episode_seed))
            episodes.append(_play(env, agent, encode, observation))

    n = len(episodes)
    returns = np.array([e.total for e in episodes], dtype=np.float64)
    metrics: dict[str, float] = {}
    infos = [e.info for e in episodes]
    if n and all("true_risk" in i and "decision" in i for i in infos):
        metrics.update(
            safety_metrics(
                [i["true_risk"] for i in infos],
                [i["decision"] for i in infos],
                returns,
                [i["requests"] for i in infos] if all("requests" in i for i in infos) else None,
            )
        )
    metrics.update(
        {
            "mean_return": float(returns.mean()) if n else float("nan"),
            "success_rate": float(np.mean([succeeded(e) for e in episodes])) if n else float("nan"),
            "mean_length": float(np.mean([e.length for e in episodes])) if n else float("nan"),
            "n_episodes": float(n),
        }
    )
    _add_override_rate(metrics, tally, n)
    log.info(
        "Evaluated %s on %d episodes (seeds %s..): mean return %.3f, success rate %.3f",
        agent.name, n, seeds[0] if n else "-", metrics["mean_return"], metrics["success_rate"],
    )  # fmt: skip
    return metrics
