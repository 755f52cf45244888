"""benchmarks/bench_env.py runs end to end and prints both rates and their ratio (a smoke run:
timing targets are for a quiet machine, not for the test suite)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_environment_benchmark_prints_both_rates_and_the_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_env.py"), "--steps", "3000",
         "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for text in ("cdss/Prescription-v0", "Taxi-v4", "steps/s", "ratio cdss / Taxi-v4", "target"):
        assert text in result.stdout
