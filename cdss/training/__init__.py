"""Training loop for the agents of `cdss.agents` in the environment of `cdss.env`."""

from cdss.training.trainer import TrainingHistory, train

__all__ = ["TrainingHistory", "train"]
