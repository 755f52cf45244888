"""Exploration and learning-rate schedules: their shapes, and the agents that follow them."""

from __future__ import annotations

import pytest

from cdss.agents import QLearningAgent, Schedule


def test_constant_linear_and_exponential_shapes() -> None:
    constant = Schedule("constant", 0.3, 0.01, 100)
    linear = Schedule("linear", 1.0, 0.1, 100)
    exponential = Schedule("exponential", 1.0, 0.01, 100)
    assert [constant(e) for e in (0, 50, 500)] == [0.3, 0.3, 0.3]
    assert [linear(e) for e in (0, 50, 100, 500)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert [exponential(e) for e in (0, 50, 100, 500)] == pytest.approx([1.0, 0.1, 0.01, 0.01])
    # exponential: the same factor every episode
    assert exponential(11) / exponential(10) == pytest.approx(exponential(61) / exponential(60))


@pytest.mark.parametrize(
    ("kind", "start", "end", "episodes"),
    [("cosine", 1.0, 0.1, 10), ("exponential", 1.0, 0.0, 10), ("linear", 1.0, 0.1, 0)],
)
def test_a_bad_schedule_says_why(kind: str, start: float, end: float, episodes: int) -> None:
    with pytest.raises(ValueError):
        Schedule(kind, start, end, episodes)


def test_the_learning_rate_follows_its_schedule() -> None:
    agent = QLearningAgent(2, 2, alpha=0.5, alpha_end=0.05, alpha_schedule="linear",
                           alpha_decay_fraction=0.5, n_episodes=20)  # fmt: skip
    alphas = [agent.alpha]
    for _ in range(20):
        agent.end_episode()
        alphas.append(agent.alpha)
    assert (
        alphas[0] == 0.5
        and alphas[5] == pytest.approx(0.275)
        and alphas[10:] == [pytest.approx(0.05)] * 11
    )
    agent.alpha = 0.25  # the update uses the current rate
    assert agent.update(0, 0, 1.0, 1, terminated=True) == pytest.approx(1.0)
    assert agent.q[0, 0] == pytest.approx(0.25)


def test_constant_alpha_is_the_default() -> None:
    agent = QLearningAgent(2, 2, alpha=0.2)
    for _ in range(10_000):
        agent.end_episode()
    assert agent.alpha == 0.2


@pytest.mark.parametrize("bad", [{"alpha": 0.0}, {"alpha_end": 1.5}, {"gamma": 1.1},
                                 {"epsilon_start": 0.1, "epsilon_end": 0.2}])  # fmt: skip
def test_learner_refuses_rates_out_of_range(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        QLearningAgent(2, 2, **bad)
