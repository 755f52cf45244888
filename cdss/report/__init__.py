"""The study report: compare tracked runs across seeds with intervals and paired tests.

`python -m cdss.report --help` writes it; importing this package does not import MLflow, which
loads only when runs are read or the report is logged.
"""

from cdss.report.build import Report, Source, build_report, run_report, write_report
from cdss.report.runs import Study, search_runs, select_runs
from cdss.report.stats import Interval, PairedTest, holm, mean_ci, paired_test
from cdss.report.tables import compare, summarize

__all__ = [
    "Interval",
    "PairedTest",
    "Report",
    "Source",
    "Study",
    "build_report",
    "compare",
    "holm",
    "mean_ci",
    "paired_test",
    "run_report",
    "search_runs",
    "select_runs",
    "summarize",
    "write_report",
]
