"""The one loop every ingest runs: read rows, convert them, count and report the bad ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from privacy.ingest.convert import RowConverter, RowErrors
from privacy.ingest.reader import CsvSource, RowProblem
from privacy.ingest.report import IngestReport, Problem


def converted_rows(source: CsvSource, converter: RowConverter,
                   report: IngestReport) -> Iterator[tuple[int, list[Any]]]:
    """Yield ``(line, canonical values)`` for every valid row; record the others in
    ``report`` (rows read, rows rejected, one problem per bad field)."""
    convert = converter.convert
    for item in source.rows():
        report.rows_read += 1
        if isinstance(item, RowProblem):
            report.rows_rejected += 1
            report.add_problem(Problem(item.line, item.column, item.value, item.reason))
            continue
        line, row = item
        try:
            values = convert(row)
        except RowErrors as bad:
            report.rows_rejected += 1
            for error in bad.errors:
                report.add_problem(Problem(line, error.column, error.value[:60], error.reason))
            continue
        yield line, values
    report.file_sha256 = source.sha256
