"""Shared fixtures: the ../shared folder beside the checkout, and real launch.py subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdss.knowledge import Risk

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Small budgets keep subprocess jobs to a few seconds each.
FAST = ["n_episodes=300", "eval.test_size=200", "eval.val_size=100", "progress=false"]


def shared_path(*parts: str) -> Path:
    """A path under ../shared; fail (never skip) with a message when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the tests read the project's shared data from ../shared beside "
            "the checkout (see README)"
        )
    return path


def launch(
    args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run launch.py in a subprocess from `cwd`, so mlflow.db and outputs land there."""
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CASES_PATH = SHARED / "cases" / "cases.json"
CASES_MISSING = f"{CASES_PATH} is missing: the clinical cases live in ../shared beside the checkout"

# The decision each true risk level calls for (DESIGN.md "The decision problem").
DECISION_OF_RISK = {
    Risk.NONE: "APPROVE",
    Risk.MINOR: "APPROVE",
    Risk.MODERATE: "WARN",
    Risk.MAJOR: "BLOCK",
    Risk.CONTRAINDICATED: "BLOCK",
}


def load_cases() -> list[dict[str, Any]]:
    """The clinical cases, or one placeholder whose test fails (never an empty, skipped set)."""
    if not CASES_PATH.is_file():
        return [{"id": "cases-file-missing"}]
    cases: list[dict[str, Any]] = json.loads(CASES_PATH.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
