"""Callbacks of the training loop: validation curve, early stopping, checkpoints and resuming
with the same result as a run that never stopped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cdss.agents import DoubleQLearningAgent, QLearningAgent, RuleShield, ShieldedAgent
from cdss.agents.belief import belief_rows
from cdss.env import CDSSEnv
from cdss.evaluation import evaluate, evaluate_episodes
from cdss.knowledge import KnowledgeBase, load_curated
from cdss.training import (
    Callback,
    Checkpointer,
    EarlyStopping,
    Trainer,
    Validation,
    load_checkpoint,
    make_env,
)
from tests.agents.tiny import AskOrDecide


class Crash(Callback):
    """Stands for a killed process: raises after `every` episodes."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_interval(self, trainer: Trainer) -> None:
        raise KeyboardInterrupt(f"crash at episode {trainer.episode}")


class Scripted(Callback):
    """A validation whose returns are given, to drive early stopping exactly."""

    def __init__(self, every: int, returns: list[float]) -> None:
        self.every, self.returns = every, returns

    def on_interval(self, trainer: Trainer) -> None:
        value = self.returns[len(trainer.validation)]
        trainer.validation.append((trainer.episode, {"mean_return": value}))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_curated()


def test_validation_curve_has_one_point_per_interval(kb: KnowledgeBase) -> None:
    env, eval_env = CDSSEnv(kb=kb, missing=40), CDSSEnv(kb=kb, missing=40)
    cohort = eval_env.make_cohort(seed=11, size=200)
    agent = QLearningAgent(env.n_belief_states, 6, state_map=belief_rows(), seed=0,
                           epsilon_decay_fraction=0.5, n_episodes=3000)  # fmt: skip
    validation = Validation(lambda a: evaluate(eval_env, a, cohort), 1000)
    trainer = Trainer(env, agent, 3000, seed=0, callbacks=[validation])
    history = trainer.run()
    assert [episode for episode, _ in history.validation] == [1000, 2000, 3000]
    assert history.validation[-1][1] == evaluate(eval_env, agent, cohort)
    assert history.n_episodes == 3000 and history.stop_reason is None


def test_early_stopping_waits_for_patience_then_restores_the_best_tables() -> None:
    env = AskOrDecide()
    agent = QLearningAgent(3, 3, seed=0)
    returns = [0.1, 0.5, 0.52, 0.4, 0.5, 0.45, 0.9]  # best 0.5 at 200 (0.52 is within min_delta)
    stopper = EarlyStopping(every=100, patience=3, min_delta=0.05)
    snapshots = {}

    class Snapshot(Callback):
        every = 100

        def on_interval(self, trainer: Trainer) -> None:
            snapshots[trainer.episode] = trainer.agent.q.copy()

    trainer = Trainer(env, agent, 10_000, seed=0,
                      callbacks=[Scripted(100, returns), stopper, Snapshot()])  # fmt: skip
    history = trainer.run()
    assert history.n_episodes == 500  # 300, 400, 500 did not improve on 200: stop at 500
    assert "early stop at episode 500" in history.stop_reason
    assert stopper.best_episode == 200
    np.testing.assert_array_equal(agent.q, snapshots[200])


def test_early_stopping_needs_a_validation_before_it() -> None:
    trainer = Trainer(AskOrDecide(), QLearningAgent(3, 3), 300, seed=0,
                      callbacks=[EarlyStopping(every=100, patience=2)])  # fmt: skip
    with pytest.raises(RuntimeError, match="Validation"):
        trainer.run()


def _cdss_setup(kb: KnowledgeBase, path: Path | None, crash: int | None) -> Trainer:
    env, eval_env = CDSSEnv(kb=kb, missing=40, cohort_batch=700), CDSSEnv(kb=kb, missing=40)
    cohort = eval_env.make_cohort(seed=12, size=150)
    agent = ShieldedAgent(
        DoubleQLearningAgent(
            env.n_belief_states,
            6,
            state_map=belief_rows(),
            seed=3,
            epsilon_decay_fraction=0.5,
            n_episodes=5000,
        ),
        RuleShield(),
    )
    callbacks: list[Callback] = [
        Validation(lambda a: evaluate(eval_env, a, cohort), 1000),
        EarlyStopping(every=1000, patience=10),
    ]
    if path is not None:
        callbacks.append(Checkpointer(path, every=800, extra={"note": "cdss"}))
    if crash is not None:
        callbacks.append(Crash(crash))
    return Trainer(env, agent, 5000, seed=3, callbacks=callbacks)


def _gym_setup(kb: KnowledgeBase, path: Path | None, crash: int | None) -> Trainer:
    env, eval_env = make_env("FrozenLake-v1", {"is_slippery": True}), make_env("FrozenLake-v1")
    agent = QLearningAgent(16, 4, gamma=0.99, seed=5, epsilon_decay_fraction=0.5,
                           n_episodes=1500)  # fmt: skip
    callbacks: list[Callback] = [
        Validation(lambda a: evaluate_episodes(eval_env, a, range(50)), 300),
        EarlyStopping(every=300, patience=10),
    ]
    if path is not None:
        callbacks.append(Checkpointer(path, every=400))
    if crash is not None:
        callbacks.append(Crash(crash))
    return Trainer(env, agent, 1500, seed=5, callbacks=callbacks, bootstrap_truncated=True)


@pytest.mark.parametrize("setup", [_cdss_setup, _gym_setup], ids=["cdss", "frozenlake"])
def test_a_resumed_run_ends_bit_identical_to_an_uninterrupted_one(
    tmp_path: Path, kb: KnowledgeBase, setup: object
) -> None:
    reference = setup(kb, None, None)
    expected = reference.run()

    path = tmp_path / "last.ckpt"
    crashing = setup(kb, path, 1100 if setup is _gym_setup else 3000)
    with pytest.raises(KeyboardInterrupt):
        crashing.run()
    checkpoint = load_checkpoint(path)
    saved_at = checkpoint["trainer"]["episode"]
    assert 0 < saved_at < expected.n_episodes

    resumed = setup(kb, path, None)
    resumed.load_state_dict(checkpoint["trainer"])
    history = resumed.run()
    for name, table in reference.agent.tables().items():
        np.testing.assert_array_equal(resumed.agent.tables()[name], table)
    for curve in ("returns", "lengths", "epsilons", "td_errors"):
        np.testing.assert_array_equal(getattr(history, curve), getattr(expected, curve))
    assert history.validation == expected.validation
    assert getattr(resumed.agent, "tally", None) == getattr(reference.agent, "tally", None)


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "last.ckpt"
    trainer = _gym_setup(kb, path, None)
    trainer.run()
    other = Trainer(make_env("FrozenLake-v1"), QLearningAgent(16, 4), 999, seed=5)
    with pytest.raises(ValueError, match="1500-episode"):
        other.load_state_dict(load_checkpoint(path)["trainer"])
