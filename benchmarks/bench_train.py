"""Episodes per second of a default 5,000-episode job, untracked and fully tracked.

Timed from the first training episode to the closed MLflow run (evaluation and all logging
included); interpreter start, imports, store creation and the run's creation are not. Each mode
runs `--repeats` times in this one process and the medians are printed side by side.

    python benchmarks/bench_train.py [--episodes 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cdss.tracking.telemetry import disable_telemetry  # noqa: E402

disable_telemetry()

from hydra import compose, initialize_config_dir  # noqa: E402

from cdss.orchestration.job import execute, track  # noqa: E402
from cdss.orchestration.schema import register_configs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    register_configs()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'bench.db'}"
        overrides = [f"n_episodes={args.episodes}", "progress=false", f"mlflow.tracking_uri={uri}"]
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)

        untracked, tracked = [], []
        track(cfg, [], lambda: execute(cfg))  # warm-up: creates the store and caches
        for _ in range(args.repeats):
            result = execute(cfg)
            untracked.append(args.episodes / (time.perf_counter() - result.started_at))
            result = track(cfg, [], lambda: execute(cfg))
            tracked.append(args.episodes / (time.perf_counter() - result.started_at))

    plain, logged = statistics.median(untracked), statistics.median(tracked)
    print(f"default job, {args.episodes} episodes, median of {args.repeats} runs")
    print(f"  untracked          {plain:10.0f} episodes/s")
    print(f"  tracked (SQLite)   {logged:10.0f} episodes/s")
    print(f"  tracked/untracked  {logged / plain:10.2f}")
    print(f"  target: tracked >= 5000 episodes/s: {'met' if logged >= 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
