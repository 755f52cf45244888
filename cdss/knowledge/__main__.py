"""Command line: look up drug pairs, or check knowledge-base files before using them.

python -m cdss.knowledge lookup warfarin fluconazole [--kb PATH ...] [--vocabulary P] [--atc P]
python -m cdss.knowledge check PATH [PATH ...] [--vocabulary P] [--atc P] [--merge]

A PATH is a curated folder (it holds drugs.csv; the word `curated` names the shipped one), or a
DDInter file or folder of files. `check` loads each PATH on its own unless `--merge` loads them
together; `lookup --kb` always loads its paths together: a curated folder with DDInter files is
the curated_ddinter merge.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

from cdss.knowledge.ddinter import load_ddinter
from cdss.knowledge.kb import KnowledgeBase
from cdss.knowledge.loader import load_curated, load_kb
from cdss.knowledge.merge import load_curated_ddinter
from cdss.knowledge.model import (
    DEFAULT_UNKNOWN_POLICY,
    UNKNOWN_POLICIES,
    KnowledgeBaseError,
    Reason,
    UnknownDrugError,
)

CURATED_WORD = "curated"


def load_paths(
    paths: Sequence[str],
    vocabulary: str | None = None,
    atc: str | None = None,
    unknown_policy: str = DEFAULT_UNKNOWN_POLICY,
) -> KnowledgeBase:
    """One knowledge base from a curated folder, DDInter paths, or both (merged)."""
    curated = [p for p in paths if p == CURATED_WORD or (Path(p) / "drugs.csv").is_file()]
    ddinter = [p for p in paths if p not in curated]
    if len(curated) > 1:
        raise KnowledgeBaseError(f"more than one curated folder: {', '.join(curated)}")
    folder = None if not curated or curated[0] == CURATED_WORD else curated[0]
    if not ddinter:
        return load_kb(folder, vocabulary=vocabulary, atc=atc, unknown_policy=unknown_policy)
    if not curated:
        return load_ddinter(ddinter, vocabulary=vocabulary, atc=atc, unknown_policy=unknown_policy)
    return load_curated_ddinter(
        ddinter, vocabulary=vocabulary, atc=atc, unknown_policy=unknown_policy, curated=folder
    )


def _print_reason(reason: Reason, prefix: str = "") -> None:
    print(f"  {prefix}[{reason.kind}, {reason.level.name.lower()}] {reason.detail}")
    print(f"    source: {reason.source}")


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
    for drug in drugs:
        codes = kb.atc_codes[kb.drug_id(drug)]
        classes = [c for c, members in kb.classes.items() if drug in members]
        if codes or classes:
            print(f"  {drug}: ATC {', '.join(codes) or '-'}; classes {', '.join(classes) or '-'}")
    for first, second in itertools.combinations(drugs, 2):
        level = kb.pair_level(first, second)
        print(f"\n{first} + {second}: {level.name.lower()}")
        sources = kb.pair_source(first, second)
        reasons = kb.pair_reasons(first, second)
        if not reasons:
            print("  no entry in the knowledge base")
        else:
            print(f"  decided by: {' and '.join(sources)}")
        for reason in reasons:
            _print_reason(reason)
        for reason in kb.overridden_reasons(first, second):
            _print_reason(reason, prefix="not used, the curated entry decides: ")
    return 0


def _check(paths: Sequence[str], merge: bool, options: argparse.Namespace) -> int:
    status = 0
    for group in [paths] if merge else [[path] for path in paths]:
        try:
            kb = load_paths(group, options.vocabulary, options.atc, options.unknown_policy)
        except (KnowledgeBaseError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        if kb.load_report is not None:
            print(kb.load_report.render())
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m cdss.knowledge`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m cdss.knowledge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = argparse.ArgumentParser(add_help=False)
    sources.add_argument("--vocabulary", metavar="CSV", help="DrugBank vocabulary CSV")
    sources.add_argument("--atc", metavar="CSV", help="WHO ATC index CSV")
    sources.add_argument(
        "--unknown-policy",
        default=DEFAULT_UNKNOWN_POLICY,
        choices=UNKNOWN_POLICIES,
        help=f"the risk DDInter's Unknown level stands for (default {DEFAULT_UNKNOWN_POLICY})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lookup = commands.add_parser(
        "lookup", parents=[sources], help="level, reasons and sources of each drug pair"
    )
    lookup.add_argument("drugs", nargs="+", metavar="DRUG")
    lookup.add_argument(
        "--kb",
        metavar="PATH",
        action="append",
        help="a curated folder or DDInter path, repeatable (default: the shipped curated KB)",
    )
    check = commands.add_parser(
        "check", parents=[sources], help="load knowledge-base files and print the load report"
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--merge", action="store_true", help="load all PATHs as one KB")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.paths, args.merge, args)
    try:
        if args.kb or args.vocabulary or args.atc:
            paths = args.kb or [CURATED_WORD]
            kb = load_paths(paths, args.vocabulary, args.atc, args.unknown_policy)
        else:
            kb = load_curated()
    except (KnowledgeBaseError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _lookup(kb, args.drugs)


if __name__ == "__main__":
    sys.exit(main())
