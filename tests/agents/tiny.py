"""A tiny decision problem with a known optimal policy: ask for the fact, then decide.

The order's one relevant fact is unknown at the start (state 0) and abnormal with probability
one half. ASK costs 0.1 and reveals it (state 1 known normal, 2 known abnormal); APPROVE pays
+1 on a normal fact and -2 on an abnormal one, BLOCK -1 and +1. With gamma 0.9:
Q*(0, ASK) = -0.1 + 0.9 * 1 = 0.8 beats BLOCK (0) and APPROVE (-0.5), so the optimal policy
is ASK, APPROVE, BLOCK in states 0, 1, 2 - the clinical problem in miniature.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

APPROVE, BLOCK, ASK = 0, 1, 2
UNKNOWN, NORMAL, ABNORMAL = 0, 1, 2
OPTIMAL_POLICY = (ASK, APPROVE, BLOCK)
GAMMA = 0.9
OPTIMAL_Q = {(UNKNOWN, ASK): -0.1 + GAMMA * 1.0, (NORMAL, APPROVE): 1.0, (ABNORMAL, BLOCK): 1.0}


class AskOrDecide(gym.Env):
    """See the module docstring; truncated after `max_steps` steps without a decision."""

    def __init__(self, max_steps: int = 3) -> None:
        self.observation_space = gym.spaces.Discrete(3)
        self.action_space = gym.spaces.Discrete(3)
        self.max_steps = max_steps
        self._abnormal = False
        self._state = UNKNOWN
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._abnormal = bool(self.np_random.random() < 0.5)
        self._state, self._steps = UNKNOWN, 0
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        self._steps += 1
        if action == ASK:
            self._state = ABNORMAL if self._abnormal else NORMAL
            return self._state, -0.1, False, self._steps >= self.max_steps, {}
        if action == APPROVE:
            reward = -2.0 if self._abnormal else 1.0
        else:
            reward = 1.0 if self._abnormal else -1.0
        return self._state, reward, True, False, {"is_success": reward > 0}


def greedy(q: np.ndarray) -> tuple[int, ...]:
    return tuple(int(a) for a in q.argmax(axis=1))
