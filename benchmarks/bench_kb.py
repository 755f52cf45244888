"""Speed and memory of the DDInter knowledge base, printed side by side with their targets.

- the full import of DDInter's eight files (`load_ddinter`: read, check, deduplicate, merge,
  build the tables) against plain `csv.reader` parsing of the same files, in this process,
  interleaved `--repeats` times (medians of wall and CPU time; the target is judged on CPU
  time, which other processes on a busy machine do not inflate);
- the DrugBank vocabulary and the ATC index, loaded on their own;
- `assess` of one order for a patient on 10 drugs (mean over `--calls` calls);
- the peak RSS the DDInter KB adds (resource.getrusage, measured first, before anything else
  grows the process) and what tracemalloc sees allocated at the peak and kept afterwards.

    python benchmarks/bench_kb.py [--data ../shared/data] [--repeats 7] [--calls 20000]
"""

from __future__ import annotations

import argparse
import csv
import gc
import logging
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cdss.knowledge import (  # noqa: E402  (after the path set-up above)
    KnowledgeBase,
    PatientRecord,
    load_curated,
    load_curated_ddinter,
    load_ddinter,
)
from cdss.knowledge.vocabulary import load_atc, load_vocabulary  # noqa: E402

TEN_DRUGS = (
    "warfarin", "metoprolol", "amlodipine", "atorvastatin", "lisinopril",
    "metformin", "omeprazole", "citalopram", "furosemide", "aspirin",
)  # fmt: skip
TARGET_RATIO = 4.0
TARGET_ASSESS_US = 50.0
TARGET_RSS_MB = 300.0


def plain_csv(files: list[Path]) -> int:
    """The baseline: every row of every file through csv.reader, nothing kept."""
    rows = 0
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            for _ in csv.reader(handle):
                rows += 1
    return rows


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def max_rss_mb() -> float:
    """The process's peak resident set so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def memory(folder: Path, vocabulary: Path, atc: Path) -> dict[str, float]:
    """Peak RSS added by kb=ddinter (with vocabulary and ATC), then tracemalloc's view."""
    gc.collect()
    before = max_rss_mb()
    kb = load_ddinter(folder, vocabulary=vocabulary, atc=atc)
    added = max_rss_mb() - before
    del kb
    gc.collect()
    tracemalloc.start()
    kb = load_ddinter(folder, vocabulary=vocabulary, atc=atc)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kb
    mb = 1024 * 1024
    return {"rss_added": added, "traced_peak": peak / mb, "traced_kept": kept / mb}


def assess_us(kb: KnowledgeBase, calls: int) -> float:
    """Mean microseconds of one `assess` for a patient on 10 drugs, after a warm-up call."""
    patient = PatientRecord(
        78, "F", TEN_DRUGS, frozenset({"ckd", "atrial_fibrillation"}),
        {"egfr": 40.0, "potassium": 5.2, "inr": 2.5, "qtc": 470.0, "alt": 30.0},
    )  # fmt: skip
    kb.assess(patient, "fluconazole")
    start = time.perf_counter()
    for _ in range(calls):
        kb.assess(patient, "fluconazole")
    return (time.perf_counter() - start) / calls * 1e6


def row(what: str, value: str, target: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("met" if met else "NOT met")
    print(f"  {what:<50} {value:>16}   {target:<10} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    folder = args.data / "ddinter"
    vocabulary = args.data / "drugbank_vocabulary" / "drugbank_vocabulary.csv"
    atc = args.data / "who_atc" / "WHO_ATC-DDD_2026-04-25.csv"
    files = sorted(folder.glob("*.csv"))
    if len(files) != 8 or not vocabulary.is_file() or not atc.is_file():
        sys.exit(f"expected 8 DDInter files, the vocabulary and the ATC index under {args.data}")

    mem = memory(folder, vocabulary, atc)  # first: ru_maxrss only ever grows

    plain_csv(files)
    load_ddinter(folder)  # warm the file cache and imports
    plain, full = [], []
    for _ in range(args.repeats):
        plain.append(timed(lambda: plain_csv(files)))
        full.append(timed(lambda: load_ddinter(folder)))
    plain_wall, plain_cpu = (statistics.median(t) for t in zip(*plain, strict=True))
    full_wall, full_cpu = (statistics.median(t) for t in zip(*full, strict=True))
    vocab_wall, _ = timed(lambda: load_vocabulary(vocabulary))
    atc_wall, _ = timed(lambda: load_atc(atc))
    with_names_wall, _ = timed(lambda: load_ddinter(folder, vocabulary=vocabulary, atc=atc))

    ddinter = load_ddinter(folder, vocabulary=vocabulary, atc=atc)
    merged = load_curated_ddinter(folder, vocabulary=vocabulary, atc=atc)
    rows = plain_csv(files)

    print(f"DDInter knowledge base: {len(files)} files, {rows:,} lines, median of {args.repeats}")
    row("", "measured", "target")
    row("plain csv.reader, wall / cpu", f"{plain_wall:.3f} / {plain_cpu:.3f} s")
    row("full import load_ddinter, wall / cpu", f"{full_wall:.3f} / {full_cpu:.3f} s")
    ratio_wall, ratio_cpu = full_wall / plain_wall, full_cpu / plain_cpu
    met = ratio_cpu <= TARGET_RATIO
    row("import / csv.reader, wall / cpu", f"{ratio_wall:.2f} / {ratio_cpu:.2f} x", "<= 4 x", met)
    row("DrugBank vocabulary load (15,235 drugs)", f"{vocab_wall:.3f} s")
    row("ATC index load", f"{atc_wall:.3f} s")
    row("kb=ddinter with vocabulary and ATC", f"{with_names_wall:.3f} s")
    for kb in (load_curated(), ddinter, merged):
        us = assess_us(kb, args.calls)
        what = f"assess, 10 drugs, {kb.name} ({len(kb.drugs):,} drugs)"
        row(what, f"{us:.1f} us", "< 50 us", us < TARGET_ASSESS_US)
    rss_met = mem["rss_added"] < TARGET_RSS_MB
    row("peak RSS added by kb=ddinter", f"{mem['rss_added']:.0f} MB", "< 300 MB", rss_met)
    row(
        "tracemalloc peak / kept after load",
        f"{mem['traced_peak']:.0f} / {mem['traced_kept']:.0f} MB",
    )


if __name__ == "__main__":
    main()
