"""Turn the study report's summary.csv into the small JSON that DVC tracks as metrics.

python scripts/report_metrics.py dvc/report/summary.csv dvc/metrics.json

One number per algorithm, group and metric (the mean over training seeds), nested so that
`dvc metrics show` prints keys like `q.missing_40.detection_rate` and `dvc metrics diff`
compares two commits line by line. The confidence intervals stay in summary.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path

_MEAN = "_mean"
# Columns of summary.csv that are neither a group key nor a metric.
_NOT_GROUPS = {"algorithm", "algo.name", "n_seeds"}


def _number(text: str) -> float | None:
    """A CSV cell as a float; None for an empty or non-finite cell (JSON has no NaN)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return round(value, 6) if math.isfinite(value) else None


def metrics_of(rows: Sequence[dict[str, str]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """algorithm -> group (e.g. "missing_40") -> metric -> mean over seeds."""
    if not rows:
        return {}
    columns = list(rows[0])
    first_metric = next(i for i, c in enumerate(columns) if c.endswith(_MEAN))
    groups = [c for c in columns[:first_metric] if c not in _NOT_GROUPS]
    means = [c for c in columns if c.endswith(_MEAN)]
    result: dict[str, dict[str, dict[str, float | None]]] = {}
    for row in rows:
        # Dots would read as nesting in DVC's flattened keys, so group names use underscores.
        group = "__".join(f"{c.replace('.', '_')}_{row[c]}" for c in groups) or "all"
        cells = {c.removesuffix(_MEAN): _number(row[c]) for c in means}
        result.setdefault(row["algorithm"], {})[group] = cells
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, help="summary.csv written by python -m cdss.report")
    parser.add_argument("out", type=Path, help="the JSON file to write")
    args = parser.parse_args(argv)
    with args.summary.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        parser.error(f"{args.summary} has no rows: the report found no finished runs")
    args.out.write_text(json.dumps(metrics_of(rows), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
