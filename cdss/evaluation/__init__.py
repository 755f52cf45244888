"""Safety metrics of a policy on a fixed cohort of orders."""

from cdss.evaluation.metrics import METRIC_NAMES, evaluate, evaluate_episodes, safety_metrics

__all__ = ["METRIC_NAMES", "evaluate", "evaluate_episodes", "safety_metrics"]
