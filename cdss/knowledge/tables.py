"""CSV reading shared by every knowledge-base source: what a spreadsheet export looks like.

Files come from spreadsheets as often as from scripts, so a byte-order mark, CRLF line ends,
quoted fields, spaces around values and empty trailing columns are accepted; anything that
would change the meaning of a row (a missing column, too few fields, bytes that are not
UTF-8) stops the load with the file, the line and the problem.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cdss.knowledge.model import KnowledgeBaseError

if TYPE_CHECKING:  # the csv module's reader type exists only in the type stubs
    from _csv import Reader


def read_text(path: Path) -> tuple[bytes, str]:
    """Raw bytes (for the content hash) and the decoded text; a BOM is dropped."""
    if not path.is_file():
        raise KnowledgeBaseError(f"{path}: file missing")
    data = path.read_bytes()
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise KnowledgeBaseError(
            f"{path}, line {line}: not valid UTF-8 ({error.reason} at byte {error.start}); "
            "save the file as 'CSV UTF-8'"
        ) from None


def reader(text: str) -> Reader:
    """A csv reader over decoded text; `newline=""` keeps quoted line breaks and CRLF right."""
    return csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)


def parse_header(
    fields: Sequence[str], path: Path, line: int | Callable[[], int], required: Sequence[str]
) -> dict[str, int]:
    """Column positions by lower-cased name; empty trailing columns are dropped.

    `line` may be a function, called only to report an error (finding it can cost a scan).
    """
    header = [field.strip().lower() for field in fields]
    while header and not header[-1]:
        header.pop()
    missing = [column for column in required if column not in header]
    if missing:
        where = line() if callable(line) else line
        raise KnowledgeBaseError(
            f"{path}, line {where}: missing column(s) {', '.join(missing)}"
            f" (header is {', '.join(header)})"
        )
    return {name: position for position, name in enumerate(header) if name}


def fit_row(
    fields: list[str], width: int, path: Path, line: int | Callable[[], int]
) -> list[str] | None:
    """The row cut to the header's width, or None for a blank row; wrong widths fail.

    Empty fields beyond the header are spreadsheet padding and are dropped; a non-empty one
    means the row does not fit the header.
    """
    if len(fields) > width and not any(field.strip() for field in fields[width:]):
        fields = fields[:width]
    if not any(field.strip() for field in fields):
        return None
    if len(fields) != width:
        few = "too few" if len(fields) < width else "too many"
        where = line() if callable(line) else line
        raise KnowledgeBaseError(
            f"{path}, line {where}: {few} fields (expected {width}, found {len(fields)})"
        )
    return fields


def rows(
    path: Path, text: str, required: Sequence[str]
) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The header's column positions and an iterator of (line, stripped fields) after it.

    Blank rows and rows whose first field starts with `#` are skipped. Raises
    KnowledgeBaseError for an empty file, a missing column or a row of the wrong width.
    """
    records = reader(text)
    try:
        for fields in records:
            if not any(field.strip() for field in fields) or fields[0].lstrip().startswith("#"):
                continue
            columns = parse_header(fields, path, records.line_num, required)
            break
        else:
            raise KnowledgeBaseError(f"{path}, line 1: empty file (no header)")
    except csv.Error as error:
        raise KnowledgeBaseError(f"{path}, line {records.line_num}: {error}") from None
    width = max(columns.values()) + 1

    def body() -> Iterator[tuple[int, list[str]]]:
        try:
            for fields in records:
                if fields and fields[0].lstrip().startswith("#"):
                    continue
                fitted = fit_row(fields, width, path, records.line_num)
                if fitted is not None:
                    yield records.line_num, [field.strip() for field in fitted]
        except csv.Error as error:
            raise KnowledgeBaseError(f"{path}, line {records.line_num}: {error}") from None

    return columns, body()
