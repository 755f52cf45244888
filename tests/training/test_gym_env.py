"""Gymnasium environments by id: what a Q-table can index, and what it cannot."""

from __future__ import annotations

import pytest

from cdss.training import make_env


def test_a_discrete_env_is_built_with_its_own_arguments() -> None:
    env = make_env("FrozenLake-v1", {"map_name": "8x8", "is_slippery": False}, max_episode_steps=7)
    assert env.observation_space.n == 64 and env.spec.max_episode_steps == 7


@pytest.mark.parametrize(("env_id", "space"), [("CartPole-v1", "Box"),
                                               ("MountainCarContinuous-v0", "action")])  # fmt: skip
def test_spaces_without_a_finite_table_are_refused(env_id: str, space: str) -> None:
    with pytest.raises(TypeError, match=space):
        make_env(env_id)
