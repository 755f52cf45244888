"""The greedy policy of a tabular agent as an MLflow pyfunc model (MLflow's models-from-code).

MLflow runs this file when the model is loaded; `set_model` names the model object. The
Q-table and the observation layout travel as artifacts, so the model needs no pickled object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext


class TabularPolicy(PythonModel):
    """Observation features in, greedy action out (ties to the lowest action, deterministic)."""

    q: np.ndarray
    features: list[str]
    nvec: list[int]

    def load_context(self, context: PythonModelContext) -> None:
        self.q = np.load(context.artifacts["q_table"])
        layout = json.loads(Path(context.artifacts["layout"]).read_text(encoding="utf-8"))
        self.features, self.nvec = list(layout["features"]), list(layout["nvec"])

    def states(self, model_input: pd.DataFrame) -> np.ndarray:
        """Table rows of the observations; a raw `state` column is taken as it is."""
        if "state" in model_input.columns:
            return model_input["state"].to_numpy(dtype=np.int64)
        columns = [model_input[name].to_numpy(dtype=np.int64) for name in self.features]
        return np.ravel_multi_index(columns, self.nvec)

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        return np.argmax(self.q[self.states(model_input)], axis=1)


set_model(TabularPolicy())
