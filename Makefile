# Everyday commands, each the same one CI or the README runs.
#   make install                  the package and its dev tools; EXTRAS=dev,dvc adds DVC
#   make run ARGS="algo=sarsa missing=60"
#   make report TRACKING_URI=sqlite:///dvc/mlflow.db
PYTHON ?= python
EXTRAS ?= dev
ARGS ?=
TRACKING_URI ?= sqlite:///mlflow.db
REPORT_DIR ?= reports

# Telemetry opt-outs for the tools not started through cdss (mlflow ui, dvc).
export MLFLOW_DISABLE_TELEMETRY ?= true
export DO_NOT_TRACK ?= 1
export DVC_NO_ANALYTICS ?= 1

.PHONY: install run test lint format report mlflow-ui repro clean

install:
	$(PYTHON) -m pip install -e ".[$(EXTRAS)]"

run:
	$(PYTHON) launch.py $(ARGS)

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# Apply the fixes `make lint` would ask for.
format:
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

report:
	$(PYTHON) -m cdss.report --tracking-uri $(TRACKING_URI) --out $(REPORT_DIR)

# MLflow 3.17's UI server needs SQLAlchemy 2, which Optuna 2.10 (pinned by the Hydra sweeper)
# cannot use: the UI runs from its own environment, with the same MLflow version as the project.
UI_VENV ?= .venv-mlflow-ui
mlflow-ui:
	test -x $(UI_VENV)/bin/mlflow || ( $(PYTHON) -m venv $(UI_VENV) && \
		$(UI_VENV)/bin/pip install --quiet "mlflow==$$($(PYTHON) -c 'import importlib.metadata as m; print(m.version("mlflow"))')" )
	$(UI_VENV)/bin/mlflow ui --backend-store-uri $(TRACKING_URI) --workers 1

# The DVC pipeline of dvc.yaml (needs the dvc extra).
repro:
	$(PYTHON) -m dvc repro

# Derived files only: the MLflow stores (*.db), mlruns/ and dvc/ hold results and are kept.
clean:
	rm -rf outputs multirun $(REPORT_DIR) build dist htmlcov .coverage .coverage.* \
		.pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
