"""Any registered Gymnasium environment with discrete observations and actions, from config."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from cdss.agents.base import n_states_of

log = logging.getLogger(__name__)


def make_env(
    id: str,  # gymnasium.make's own name for it, so the config reads env.id
    kwargs: Mapping[str, Any] | None = None,
    max_episode_steps: int | None = None,
) -> gym.Env:
    """`gymnasium.make(id, **kwargs)`, refusing spaces a Q-table cannot index.

    The config keeps the environment's own arguments under `kwargs`, so they cannot collide
    with ours (`env.kwargs.is_slippery=false`).
    """
    env = gym.make(id, max_episode_steps=max_episode_steps, **dict(kwargs or {}))
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise TypeError(
            f"{id}: tabular agents need a Discrete action space, got {env.action_space}"
        )
    try:
        n_states = n_states_of(env.observation_space)
    except TypeError as error:
        env.close()
        raise TypeError(f"{id}: {error}") from error
    log.info(
        "Gymnasium env %s %s: %d states, %d actions",
        id, dict(kwargs or {}), n_states, int(env.action_space.n),
    )  # fmt: skip
    return env
