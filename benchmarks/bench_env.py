"""Steps per second of tabular Q-learning on cdss/Prescription-v0 against Gymnasium's Taxi-v4.

One process, one agent class (cdss.agents.QLearningAgent), one loop: the same number of steps
on each environment, both built with `gymnasium.make` as registered (Taxi-v4 comes with its
passive env checker, order enforcing and 200-step time limit; cdss/Prescription-v0 with none of
them, its own checks being inside the env). The prescription env runs on the curated knowledge
base at 40% missing facts with the default generated cohort; Taxi's integer state is the table
index as it is (the identity encoding of `encoder_for`). Each environment runs `--repeats`
times, alternating, and the medians are printed with their ratio; the target is >= 2. Taxi
without its passive checker is printed as well, for a like-for-like wrapper count.

    python benchmarks/bench_env.py [--steps 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gymnasium as gym  # noqa: E402

import cdss.env  # noqa: E402, F401  (registers cdss/Prescription-v0)
from cdss.agents import QLearningAgent  # noqa: E402
from cdss.agents.base import encoder_for, n_states_of  # noqa: E402

TARGET = 2.0


def q_learning_steps_per_second(env: gym.Env, steps: int, seed: int = 0) -> float:
    """Run `steps` Q-learning steps (act, step, update, reset at episode ends); steps/s."""
    encode = encoder_for(env.observation_space)
    agent = QLearningAgent(
        n_states_of(env.observation_space),
        int(env.action_space.n),
        epsilon_decay_episodes=2000,
        seed=seed,
    )
    act, update, end_episode = agent.act, agent.update, agent.end_episode
    reset, step = env.reset, env.step
    observation, _ = reset(seed=seed)
    state = encode(observation)
    tic = time.perf_counter()
    for _ in range(steps):
        action = act(state)
        observation, reward, terminated, truncated, _ = step(action)
        next_state = encode(observation)
        update(state, action, reward, next_state, terminated)
        if terminated or truncated:
            end_episode()
            observation, _ = reset()
            next_state = encode(observation)
        state = next_state
    return steps / (time.perf_counter() - tic)


def describe(env: Any) -> str:
    """The wrapper stack of a made environment, outermost first."""
    names = []
    while hasattr(env, "env"):
        names.append(type(env).__name__)
        env = env.env
    return " > ".join([*names, type(env).__name__])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    envs = {
        "cdss/Prescription-v0": gym.make("cdss/Prescription-v0", missing=40),
        "Taxi-v4": gym.make("Taxi-v4"),
        "Taxi-v4 (no env checker)": gym.make("Taxi-v4", disable_env_checker=True),
    }
    for env in envs.values():  # warm-up: first batch, caches, table allocation
        q_learning_steps_per_second(env, min(args.steps, 20_000))
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for repeat in range(args.repeats):
        for name, env in envs.items():
            rates[name].append(q_learning_steps_per_second(env, args.steps, seed=repeat))
    medians = {name: statistics.median(values) for name, values in rates.items()}

    print(f"tabular Q-learning, {args.steps} steps per run, median of {args.repeats} runs")
    for name, env in envs.items():
        print(f"  {name:<26}{medians[name]:>12,.0f} steps/s   [{describe(env)}]")
    ratio = medians["cdss/Prescription-v0"] / medians["Taxi-v4"]
    bare = medians["cdss/Prescription-v0"] / medians["Taxi-v4 (no env checker)"]
    print(f"  ratio cdss / Taxi-v4    {ratio:>12.2f}")
    print(f"  ratio cdss / Taxi-v4 (no env checker) {bare:.2f}")
    print(f"  target: ratio >= {TARGET:g}: {'met' if ratio >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
