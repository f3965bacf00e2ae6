"""The one loop every ingest runs: read chunks, convert them, report the rows that fail."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from privacy.ingest.columns import ColumnConverter
from privacy.ingest.convert import RowConverter, RowErrors
from privacy.ingest.reader import CsvSource
from privacy.ingest.report import IngestReport, Problem, file_label

# Rows a chunk: small enough that a chunk's strings stay in a core's cache while each of its
# columns is converted (bench/RESULTS.md has the comparison).
CHUNK_ROWS = 500


def converted_chunks(
    source: CsvSource, converter: RowConverter, report: IngestReport, size: int = CHUNK_ROWS
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield lists of ``(line, *canonical values)`` for the valid rows, a chunk at a time;
    count every row read in ``report`` and record each bad row's problems there."""
    fast = ColumnConverter(converter)
    with _no_cyclic_gc():
        yield from _chunks(source, converter, report, size, fast)
    report.file_sha256 = source.sha256


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: rows make no reference cycles, and with
    millions of young tuples alive it ran often enough to cost a third of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(
    source: CsvSource,
    converter: RowConverter,
    report: IngestReport,
    size: int,
    fast: ColumnConverter,
) -> Iterator[list[tuple[Any, ...]]]:
    for chunk in source.chunks(size):
        report.rows_read += len(chunk.rows) + len(chunk.problems)
        for problem in chunk.problems:
            report.rows_rejected += 1
            report.add_problem(Problem(problem.line, problem.column, problem.value, problem.reason))
        converted = fast.convert(chunk.lines, chunk.rows)
        if converted is None:
            converted = _row_by_row(converter, chunk.lines, chunk.rows, report)
        at = converter.line_id_at
        if at is not None:  # a file without ids: the file's name and the row's line
            name = file_label(source.path)
            converted = [(*row[:at], f"{name}:{row[0]}", *row[at + 1 :]) for row in converted]
        yield converted


def _row_by_row(
    converter: RowConverter, lines: list[int], rows: list[list[str]], report: IngestReport
) -> list[tuple[Any, ...]]:
    converted = []
    for line, row in zip(lines, rows, strict=True):
        try:
            values = converter.convert(row)
        except RowErrors as bad:
            report.rows_rejected += 1
            for error in bad.errors:
                report.add_problem(Problem(line, error.column, error.value[:60], error.reason))
            continue
        converted.append((line, *values))
    return converted
