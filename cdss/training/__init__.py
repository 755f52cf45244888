"""Training loop, callbacks (validation, early stopping, checkpoints) and Gymnasium envs."""

from cdss.training.callbacks import Callback, Checkpointer, EarlyStopping, Validation
from cdss.training.checkpoint import load_checkpoint, save_checkpoint
from cdss.training.gym_env import make_env
from cdss.training.trainer import Trainer, TrainingHistory, train

__all__ = [
    "Callback",
    "Checkpointer",
    "EarlyStopping",
    "Trainer",
    "TrainingHistory",
    "Validation",
    "load_checkpoint",
    "make_env",
    "save_checkpoint",
    "train",
]
