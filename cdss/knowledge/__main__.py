"""Command line: look up drug pairs, or check a knowledge-base folder before using it.

python -m cdss.knowledge lookup warfarin fluconazole [--kb FOLDER]
python -m cdss.knowledge check FOLDER [FOLDER ...]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence

from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.loader import load_curated, load_kb
from cdss.knowledge.model import KnowledgeBaseError, Risk, UnknownDrugError


def _lookup(kb: KnowledgeBase, names: Sequence[str]) -> int:
    try:
        drugs = [drug for name in names for drug in kb.resolve_all(name)]
    except UnknownDrugError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    drugs = list(dict.fromkeys(drugs))
    if len(drugs) < 2:
        print("error: give at least two different drugs", file=sys.stderr)
        return 2
    print(f"knowledge base {kb.name} ({kb.content_hash[:12]})")
    for first, second in itertools.combinations(drugs, 2):
        level = kb.pair_level(first, second)
        print(f"\n{first} + {second}: {level.name.lower()}")
        reasons = kb.pair_reasons(first, second)
        if not reasons:
            print("  no entry in the knowledge base")
        for reason in reasons:
            print(f"  [{reason.kind}, {reason.level.name.lower()}] {reason.detail}")
            print(f"    source: {reason.source}")
    return 0


def _report(kb: KnowledgeBase) -> None:
    counts = kb.summary()
    print(f"{kb.name}: OK, hash {kb.content_hash}")
    print(f"  drugs {counts['drugs']}, classes {counts['classes']}")
    levels = [level.name.lower() for level in Risk]
    entries = ", ".join(f"{name} {counts[f'interactions.{name}']}" for name in levels)
    pairs = ", ".join(f"{name} {counts[f'pairs.{name}']}" for name in levels)
    print(f"  interaction entries {counts['interactions.csv']}: {entries}")
    print(f"  drug pairs after class expansion: {pairs}")
    print(
        f"  condition entries {counts['drug_conditions.csv']} "
        f"({counts['condition_rules']} drug-condition cells)"
    )
    print(f"  lab entries {counts['drug_labs.csv']} ({counts['lab_rules']} drug-lab rules)")


def _check(paths: Sequence[str]) -> int:
    status = 0
    for path in paths:
        try:
            kb = load_kb(path)
        except KnowledgeBaseError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        _report(kb)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m cdss.knowledge`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m cdss.knowledge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lookup = commands.add_parser("lookup", help="level, reasons and sources of each drug pair")
    lookup.add_argument("drugs", nargs="+", metavar="DRUG")
    lookup.add_argument("--kb", metavar="FOLDER", help="a KB folder (default: the curated KB)")
    check = commands.add_parser("check", help="load KB folders and print a load report")
    check.add_argument("paths", nargs="+", metavar="PATH")
    args = parser.parse_args(argv)

    if args.command == "check":
        return _check(args.paths)
    try:
        kb = load_kb(args.kb) if args.kb else load_curated()
    except KnowledgeBaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _lookup(kb, args.drugs)


if __name__ == "__main__":
    sys.exit(main())
