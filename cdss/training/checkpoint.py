"""Checkpoint files, and the random state of an environment that a checkpoint must carry.

A checkpoint is a pickle of plain containers, numpy arrays and the agent object, written
atomically (a crash mid-write leaves the previous checkpoint whole). Pickle runs code when
loaded: load only checkpoints this tool wrote.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


def save_checkpoint(path: str | Path, content: dict[str, Any]) -> Path:
    """Write `content` to `path` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": CHECKPOINT_VERSION, **content}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(payload, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`."""
    with Path(path).open("rb") as file:
        content = pickle.load(file)
    if not isinstance(content, dict) or content.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a version-{CHECKPOINT_VERSION} cdss checkpoint")
    return content


# --- environment state ------------------------------------------------------------------------

# The prescription environment pre-draws training orders in batches from its generator: between
# episodes, its state is the generator plus the current batch and the position in it.
# TODO(env owner): replace this read of private attributes by a public
# CDSSEnv.training_state() / restore_training_state(state) pair.
_CDSS_BATCH = ("_batch_patients", "_batch_rows", "_batch_position")


def capture_env_state(env: gym.Env) -> dict[str, Any]:
    """The random state of `env` between two episodes: its `np_random` generator's state, and
    for the prescription environment the batch of pre-drawn orders and the position in it."""
    base = env.unwrapped
    generator = getattr(base, "_np_random", None)
    state: dict[str, Any] = {
        "np_random": None if generator is None else generator.bit_generator.state
    }
    if all(hasattr(base, name) for name in _CDSS_BATCH):
        state["batch"] = {name: getattr(base, name) for name in _CDSS_BATCH}
    return state


def restore_env_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Put `env` back into a state returned by `capture_env_state`."""
    base = env.unwrapped
    saved = state["np_random"]
    if saved is not None:
        bit_generator = getattr(np.random, saved["bit_generator"])()
        bit_generator.state = saved
        base.np_random = np.random.Generator(bit_generator)
    for name, value in state.get("batch", {}).items():
        setattr(base, name, value)
