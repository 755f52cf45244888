"""The learners against rule_based and cautious_rule at several missing rates, over seeds.

Every job is the default job of `launch.py` (same config, same test cohort) with tracking off;
only algo, missing and seed change. Prints one markdown table per missing rate: mean (sd) per
agent, then the best learner's paired t-tests against the baselines.

    python benchmarks/compare_baselines.py [--missing 40 60] [--seeds 5] [--jobs 2] [--episodes N]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cdss.tracking.telemetry import disable_telemetry  # noqa: E402

disable_telemetry()

from joblib import Parallel, delayed  # noqa: E402

from cdss.evaluation.compare import (  # noqa: E402
    BASELINES,
    LEARNERS,
    compare_with_baselines,
    markdown_table,
)


def run_job(algo: str, missing: int, seed: int, episodes: int | None) -> dict[str, float]:
    """The test-cohort metrics of one default job (a baseline trains for one episode only)."""
    from hydra import compose, initialize_config_dir

    from cdss.orchestration.job import execute
    from cdss.orchestration.schema import register_configs

    register_configs()
    overrides = [
        f"algo={algo}",
        f"missing={missing}",
        f"seed={seed}",
        "mlflow.enabled=false",
        "progress=false",
        "train.checkpoint.every=0",
    ]
    if algo in BASELINES:
        overrides.append("n_episodes=1")  # nothing to learn
    elif episodes is not None:
        overrides.append(f"n_episodes={episodes}")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    logging.getLogger().setLevel(logging.WARNING)
    return execute(cfg).test_metrics


def collect(
    missing: int, seeds: list[int], jobs: int, episodes: int | None
) -> dict[str, dict[int, dict[str, float]]]:
    """results[algo][seed] for every learner and baseline at one missing rate."""
    grid = [(algo, seed) for algo in (*LEARNERS, *BASELINES) for seed in seeds]
    metrics = Parallel(n_jobs=jobs)(
        delayed(run_job)(algo, missing, seed, episodes) for algo, seed in grid
    )
    results: dict[str, dict[int, dict[str, float]]] = {}
    for (algo, seed), values in zip(grid, metrics, strict=True):
        results.setdefault(algo, {})[seed] = values
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", type=int, nargs="+", default=[40, 60])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=None, help="default: conf/config.yaml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    failed = []
    for missing in args.missing:
        results = collect(missing, list(range(args.seeds)), args.jobs, args.episodes)
        best, comparisons = compare_with_baselines(results)
        print(markdown_table(missing, results, comparisons))
        print(f"\nbest learner at missing {missing}: {best}\n")
        failed += [
            f"missing {missing}: {c.metric} vs {c.baseline}" for c in comparisons if not c.holds
        ]
    if failed:
        print("NOT met: " + "; ".join(failed))
        sys.exit(1)
    print("every check holds (p < 0.05, paired t-test over the seeds)")


if __name__ == "__main__":
    main()
