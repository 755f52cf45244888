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

mlflow-ui:
	mlflow ui --backend-store-uri $(TRACKING_URI)

# The DVC pipeline of dvc.yaml (needs the dvc extra).
repro:
	$(PYTHON) -m dvc repro

# Derived files only: the MLflow stores (*.db), mlruns/ and dvc/ hold results and are kept.
clean:
	rm -rf outputs multirun $(REPORT_DIR) build dist htmlcov .coverage .coverage.* \
		.pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
