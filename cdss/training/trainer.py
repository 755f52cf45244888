"""The training loop: episodes of TD updates, recorded per episode as numpy arrays."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from cdss.agents.base import Agent, encoder_for

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]


@dataclass
class TrainingHistory:
    """Per-episode curves of one training run (index = episode)."""

    returns: np.ndarray  # float64, undiscounted return
    lengths: np.ndarray  # int64, steps
    epsilons: np.ndarray  # float64, exploration rate during the episode
    td_errors: np.ndarray  # float64, mean |TD error| over the episode's steps
    seconds: float = 0.0
    states_visited: int = 0

    @property
    def n_episodes(self) -> int:
        return len(self.returns)

    @property
    def episodes_per_second(self) -> float:
        return self.n_episodes / self.seconds if self.seconds > 0 else float("nan")

    def convergence_episode(self, window: int = 500, tolerance: float = 0.05) -> int:
        """First episode from which the moving-average return stays within `tolerance` x the
        final average's magnitude (at least 0.05) of that final average; -1 if too short."""
        if self.n_episodes < window:
            return -1
        kernel = np.ones(window) / window
        moving = np.convolve(self.returns, kernel, mode="valid")
        final = moving[-1]
        band = max(abs(final) * tolerance, 0.05)
        outside = np.flatnonzero(np.abs(moving - final) > band)
        first_inside = 0 if not len(outside) else int(outside[-1]) + 1
        return first_inside + window - 1


def train(
    env: gym.Env,
    agent: Agent,
    n_episodes: int,
    seed: int,
    on_progress: ProgressCallback | None = None,
) -> TrainingHistory:
    """Run `n_episodes` episodes of `agent` in `env`, updating after every step.

    Deterministic for a given seed: the environment is reset with `seed` once, at the first
    episode, and the agent's stream is restarted from `seed` (a different stream than the
    environment's). SARSA-style agents (`needs_next_action`) get the next action before their
    update; the others choose it after the update. A truncated episode is final here (its
    miss penalty is the outcome), so neither bootstraps from the state it ends in.
    `on_progress(done_episodes)` is called about every 1% of the run and at the end.
    """
    if n_episodes < 0:
        raise ValueError(f"n_episodes must be >= 0, got {n_episodes}")
    encode = encoder_for(env.observation_space)
    agent.reseed(seed)
    agent.bind(env)
    act, update, end_episode = agent.act, agent.update, agent.end_episode
    learns, on_policy = agent.learns, agent.needs_next_action
    reset, step = env.reset, env.step

    returns = np.zeros(n_episodes, dtype=np.float64)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    epsilons = np.zeros(n_episodes, dtype=np.float64)
    td_errors = np.zeros(n_episodes, dtype=np.float64)
    report_every = max(1, n_episodes // 100)
    log.info("Training %s for %d episodes (seed %d)", agent.name, n_episodes, seed)

    tic = time.perf_counter()
    for episode in range(n_episodes):
        observation, _ = reset(seed=seed) if episode == 0 else reset()
        state = encode(observation)
        action = act(state)
        epsilons[episode] = getattr(agent, "epsilon", 0.0)
        total, steps, td_sum = 0.0, 0, 0.0
        while True:
            observation, reward, terminated, truncated, _ = step(action)
            next_state = encode(observation)
            done = terminated or truncated
            total += reward
            steps += 1
            if not learns:
                next_action = None if done else act(next_state)
            elif on_policy:
                next_action = None if done else act(next_state)
                td_sum += abs(update(state, action, reward, next_state, done, next_action))
            else:
                td_sum += abs(update(state, action, reward, next_state, done))
                next_action = None if done else act(next_state)
            if done:
                break
            state, action = next_state, next_action
        end_episode()
        returns[episode] = total
        lengths[episode] = steps
        td_errors[episode] = td_sum / steps
        if on_progress is not None and ((episode + 1) % report_every == 0):
            on_progress(episode + 1)
    seconds = time.perf_counter() - tic

    if on_progress is not None and n_episodes % report_every:
        on_progress(n_episodes)
    history = TrainingHistory(
        returns=returns,
        lengths=lengths,
        epsilons=epsilons,
        td_errors=td_errors,
        seconds=seconds,
        states_visited=int(getattr(agent, "states_visited", 0)),
    )
    log.info(
        "Trained %s: %d episodes in %.2fs (%.0f episodes/s), last-10%% mean return %.3f",
        agent.name, n_episodes, seconds, history.episodes_per_second,
        float(returns[-max(1, n_episodes // 10):].mean()) if n_episodes else float("nan"),
    )  # fmt: skip
    return history
