"""Command line: how a Synthea folder maps onto the knowledge base, and refitting the generator.

python -m cdss.env.synthea map PATH [--kb FOLDER] [--vocabulary DRUGBANK_CSV]
python -m cdss.env.synthea fit PATH --out FILE [--kb FOLDER] [--licence TEXT]

Fit into a file that ships with the package only records whose licence allows it (the shipped
model comes from the Apache-2.0 OHDSI dbt-synthea sample); other folders are read at run time
with `env.cohort=synthea env.synthea_path=PATH`, or fitted into a file kept outside the package
and used with `env.generator_file=FILE`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from cdss.env.fitted import file_digests, fit_model
from cdss.env.synthea.reader import FILES, read_synthea
from cdss.knowledge import KnowledgeBase, load_curated, load_kb


def _kb(folder: str | None) -> KnowledgeBase:
    return load_kb(folder) if folder else load_curated()


def _map(args: argparse.Namespace) -> int:
    records = read_synthea(args.path, _kb(args.kb), vocabulary=args.vocabulary)
    print(records.report.text(top=args.top))
    return 0


def _fit(args: argparse.Namespace) -> int:
    kb = _kb(args.kb)
    records = read_synthea(args.path, kb)
    folder = Path(args.path)
    source = {
        "name": folder.resolve().name,
        "licence": args.licence,
        "index_date": records.index_date.isoformat(),
        "schema": records.schema,
        "kb": kb.name,
        "medication_coverage": round(records.report.coverage, 4),
        "medication_coverage_lenient": round(records.report.lenient_coverage, 4),
        "sha256": file_digests(folder, FILES),
    }
    model = fit_model(records.records, records.hospital_share, source)
    model.save(args.out)
    print(f"fitted {len(records)} records of {folder} into {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdss.env.synthea", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    mapping = commands.add_parser("map", help="print mapping coverage and what was not mapped")
    mapping.add_argument("path", help="a Synthea CSV folder")
    mapping.add_argument("--kb", help="a knowledge-base folder (default: the curated KB)")
    mapping.add_argument("--vocabulary", help="DrugBank open vocabulary CSV: stricter report")
    mapping.add_argument("--top", type=int, default=40, help="lines per unmapped list")
    mapping.set_defaults(run=_map)
    fitting = commands.add_parser("fit", help="fit the cohort generator to a Synthea folder")
    fitting.add_argument("path", help="a Synthea CSV folder")
    fitting.add_argument("--out", required=True, help="the JSON file to write")
    fitting.add_argument("--kb", help="a knowledge-base folder (default: the curated KB)")
    fitting.add_argument("--licence", default="unknown", help="the records' licence, recorded")
    fitting.set_defaults(run=_fit)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
