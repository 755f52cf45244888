"""The training loop: episodes of TD updates, recorded per episode as numpy arrays.

`Trainer` holds the loop's state (episode index, partial curves, validation results) so that
callbacks can stop it, and so that it can be checkpointed and resumed with the same result as
an uninterrupted run; `train` is the one-call form.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np

from cdss.agents.base import Agent, encoder_for
from cdss.training.callbacks import Callback
from cdss.training.checkpoint import capture_env_state, restore_env_state

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
StepFunction = Callable[[int], tuple[Any, float, bool, bool, dict[str, Any]]]
CURVES = ("returns", "lengths", "epsilons", "td_errors")


@dataclass
class TrainingHistory:
    """Per-episode curves of one training run (index = episode)."""

    returns: np.ndarray  # float64, undiscounted return
    lengths: np.ndarray  # int64, steps
    epsilons: np.ndarray  # float64, exploration rate during the episode
    td_errors: np.ndarray  # float64, mean |TD error| over the episode's steps
    seconds: float = 0.0
    states_visited: int = 0
    # (episodes done, metrics) of each periodic evaluation on the validation cohort
    validation: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    stop_reason: str | None = None  # why training ended before n_episodes (early stopping)

    @property
    def n_episodes(self) -> int:
        return len(self.returns)

    @property
    def episodes_per_second(self) -> float:
        return self.n_episodes / self.seconds if self.seconds > 0 else float("nan")

    def convergence_episode(self, window: int | None = None, tolerance: float = 0.05) -> int:
        """First episode from which the moving-average return stays within `tolerance` x the
        final average's magnitude (at least 0.05) of that final average; -1 if too short.

        The default window is 5% of the run (at least 500 episodes): a fixed short window's
        noise alone would leave the band near the end of a long run.
        """
        window = max(500, self.n_episodes // 20) if window is None else window
        if self.n_episodes < window:
            return -1
        kernel = np.ones(window) / window
        moving = np.convolve(self.returns, kernel, mode="valid")
        final = moving[-1]
        band = max(abs(final) * tolerance, 0.05)
        outside = np.flatnonzero(np.abs(moving - final) > band)
        first_inside = 0 if not len(outside) else int(outside[-1]) + 1
        return first_inside + window - 1


class Trainer:
    """Runs `n_episodes` episodes of `agent` in `env`, updating after every step.

    Deterministic for a given seed: the environment is reset with `seed` once, at the first
    episode, and the agent's stream is restarted from `seed` (a different stream than the
    environment's). SARSA-style agents (`needs_next_action`) get the next action before their
    update; the others choose it after the update. A terminated episode never bootstraps; a
    truncated one bootstraps only with `bootstrap_truncated` (a time limit cutting a continuing
    task, as in most Gymnasium environments). In the prescription environment truncation is the
    step limit's miss outcome, so it is final there (the default).

    `callbacks` run after every `callback.every` episodes, in their order (validation before
    early stopping before checkpoints); one may end training by setting `stop_reason`.
    `on_progress(done_episodes)` is called about every 1% of the run and at the end.
    """

    def __init__(
        self,
        env: gym.Env,
        agent: Agent,
        n_episodes: int,
        seed: int,
        callbacks: Sequence[Callback] = (),
        on_progress: ProgressCallback | None = None,
        bootstrap_truncated: bool = False,
    ) -> None:
        if n_episodes < 0:
            raise ValueError(f"n_episodes must be >= 0, got {n_episodes}")
        self.env = env
        self.agent = agent
        self.n_episodes = int(n_episodes)
        self.seed = int(seed)
        self.callbacks = list(callbacks)
        self.on_progress = on_progress
        self.bootstrap_truncated = bool(bootstrap_truncated)
        self.episode = 0  # episodes done
        self.curves = {
            "returns": np.zeros(self.n_episodes, dtype=np.float64),
            "lengths": np.zeros(self.n_episodes, dtype=np.int64),
            "epsilons": np.zeros(self.n_episodes, dtype=np.float64),
            "td_errors": np.zeros(self.n_episodes, dtype=np.float64),
        }
        self.validation: list[tuple[int, dict[str, float]]] = []
        self.stop_reason: str | None = None
        self.seconds = 0.0  # training time of the episodes done, across resumes
        self._clock = 0.0

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> TrainingHistory:
        """Train from the current episode (0, or where a checkpoint left off) to the end."""
        env, agent = self.env, self.agent
        encode = encoder_for(env.observation_space)
        if self.episode == 0:
            agent.reseed(self.seed)
        agent.bind(env)
        act, update, end_episode = agent.act, agent.update, agent.end_episode
        learns, on_policy = agent.learns, agent.needs_next_action
        bootstrap_truncated = self.bootstrap_truncated
        reset, step = env.reset, cast(StepFunction, env.step)  # rewards are floats here
        returns, lengths = self.curves["returns"], self.curves["lengths"]
        epsilons, td_errors = self.curves["epsilons"], self.curves["td_errors"]
        n_episodes, on_progress = self.n_episodes, self.on_progress
        report_every = max(1, n_episodes // 100)
        log.info(
            "Training %s for %d episodes (seed %d)%s",
            agent.name, n_episodes, self.seed,
            f", resumed at episode {self.episode}" if self.episode else "",
        )  # fmt: skip
        for callback in self.callbacks:
            callback.on_train_start(self)

        self._clock = time.perf_counter()
        next_event = self._next_event()
        episode = self.episode
        last = episode if self.stop_reason is not None else n_episodes  # stopped before a save
        while episode < last:
            observation, _ = reset(seed=self.seed) if episode == 0 else reset()
            state = encode(observation)
            action = act(state)
            epsilons[episode] = getattr(agent, "epsilon", 0.0)
            total, steps, td_sum = 0.0, 0, 0.0
            while True:
                observation, reward, terminated, truncated, _ = step(action)
                next_state = encode(observation)
                done = terminated or truncated
                final = terminated or (truncated and not bootstrap_truncated)
                total += reward
                steps += 1
                if not learns:
                    next_action = None if done else act(next_state)
                elif on_policy:
                    next_action = None if final else act(next_state)
                    td_sum += abs(update(state, action, reward, next_state, final, next_action))
                else:
                    td_sum += abs(update(state, action, reward, next_state, final))
                    next_action = None if done else act(next_state)
                if done or next_action is None:
                    break
                state, action = next_state, next_action
            end_episode()
            returns[episode] = total
            lengths[episode] = steps
            td_errors[episode] = td_sum / steps
            episode += 1
            if on_progress is not None and episode % report_every == 0:
                on_progress(episode)
            if episode == next_event:
                self._fire(episode)
                if self.stop_reason is not None:
                    break
                next_event = self._next_event()
        self._tick(episode)

        if on_progress is not None and episode % report_every:
            on_progress(episode)
        for callback in self.callbacks:
            callback.on_train_end(self)
        history = self.history()
        log.info(
            "Trained %s: %d episodes in %.2fs (%.0f episodes/s), last-10%% mean return %.3f%s",
            agent.name, history.n_episodes, history.seconds, history.episodes_per_second,
            float(history.returns[-max(1, history.n_episodes // 10):].mean())
            if history.n_episodes else float("nan"),
            f" ({self.stop_reason})" if self.stop_reason else "",
        )  # fmt: skip
        return history

    def _tick(self, episode: int) -> None:
        """Bring `episode` and the training clock up to date (before callbacks read them)."""
        now = time.perf_counter()
        self.seconds += now - self._clock
        self._clock = now
        self.episode = episode

    def _next_event(self) -> int:
        """The next episode count after which some callback is due (never, past the end)."""
        due = [(self.episode // c.every + 1) * c.every for c in self.callbacks if c.every > 0]
        return min(due, default=self.n_episodes + 1)

    def _fire(self, episode: int) -> None:
        self._tick(episode)
        for callback in self.callbacks:
            if callback.every > 0 and episode % callback.every == 0:
                callback.on_interval(self)
        self._clock = time.perf_counter()  # time spent in callbacks is not training time

    def history(self) -> TrainingHistory:
        """The curves of the episodes done so far."""
        done = self.episode
        returns, lengths, epsilons, td_errors = (self.curves[n][:done].copy() for n in CURVES)
        return TrainingHistory(
            returns,
            lengths,
            epsilons,
            td_errors,
            seconds=self.seconds,
            states_visited=int(getattr(self.agent, "states_visited", 0)),
            validation=list(self.validation),
            stop_reason=self.stop_reason,
        )

    # --- checkpoints ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue bit-identically (picklable)."""
        return {
            "episode": self.episode,
            "n_episodes": self.n_episodes,
            "seed": self.seed,
            "curves": {name: self.curves[name][: self.episode].copy() for name in CURVES},
            "validation": list(self.validation),
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
            "agent": self.agent,
            "env": capture_env_state(self.env),
            "callbacks": {key: c.state_dict() for key, c in self._keyed_callbacks()},
        }

    def _keyed_callbacks(self) -> list[tuple[str, Callback]]:
        """Callbacks keyed by class and rank among their class ("EarlyStopping#0")."""
        seen: dict[str, int] = {}
        keyed = []
        for callback in self.callbacks:
            name = type(callback).__name__
            keyed.append((f"{name}#{seen.get(name, 0)}", callback))
            seen[name] = seen.get(name, 0) + 1
        return keyed

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`: the agent is replaced by the saved one."""
        if (state["n_episodes"], state["seed"]) != (self.n_episodes, self.seed):
            raise ValueError(
                f"checkpoint of a {state['n_episodes']}-episode run with seed {state['seed']}, "
                f"not of this {self.n_episodes}-episode run with seed {self.seed}"
            )
        saved = state["callbacks"]
        missing = [key for key, c in self._keyed_callbacks() if key not in saved and c.state_dict()]
        if missing:
            raise ValueError(f"the checkpoint has no state for this run's callbacks {missing}")
        self.episode = int(state["episode"])
        for name in CURVES:
            self.curves[name][: self.episode] = state["curves"][name]
        self.validation = list(state["validation"])
        self.stop_reason = state["stop_reason"]
        self.seconds = float(state["seconds"])
        self.agent = state["agent"]
        restore_env_state(self.env, state["env"])
        for key, callback in self._keyed_callbacks():
            if key in saved:
                callback.load_state_dict(saved[key])


def train(
    env: gym.Env,
    agent: Agent,
    n_episodes: int,
    seed: int,
    on_progress: ProgressCallback | None = None,
    callbacks: Sequence[Callback] = (),
    bootstrap_truncated: bool = False,
) -> TrainingHistory:
    """Run `n_episodes` episodes of `agent` in `env` (see `Trainer`) and return the curves."""
    trainer = Trainer(env, agent, n_episodes, seed, callbacks, on_progress, bootstrap_truncated)
    return trainer.run()
