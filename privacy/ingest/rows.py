"""The one loop every ingest runs: read chunks, convert them, report the rows that fail."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from privacy.ingest.columns import ColumnConverter
from privacy.ingest.convert import RowConverter, RowErrors
from privacy.ingest.reader import CsvSource
from privacy.ingest.report import IngestReport, Problem, file_label

# Rows a chunk: small enough that a chunk's strings stay in a core's cache while each of its
# columns is converted (bench/RESULTS.md has the comparison).
CHUNK_ROWS = 500


@dataclass(frozen=True)
class ConvertedColumns:
    """A chunk's valid rows, converted: the file line of each, and each canonical field's
    values in the same order (a column per field, as the column path makes them and as
    COPY text is built)."""

    lines: list[int]
    columns: list[list[Any]]

    def rows(self) -> list[tuple[Any, ...]]:
        """``(line, *values)`` a row."""
        return list(zip(self.lines, *self.columns, strict=True))


def converted_chunks(
    source: CsvSource,
    converter: RowConverter,
    report: IngestReport,
    size: int = CHUNK_ROWS,
    *,
    for_copy: bool = False,
) -> Iterator[ConvertedColumns]:
    """Yield the valid rows converted, a chunk at a time; count every row read in
    ``report`` and record each bad row's problems there. ``for_copy``: the values become
    COPY text, and a plainly written number may keep its text (see
    :class:`~privacy.ingest.columns.ColumnConverter`)."""
    fast = ColumnConverter(converter, floats_as_text=for_copy)
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
) -> Iterator[ConvertedColumns]:
    for chunk in source.chunks(size):
        report.rows_read += len(chunk.rows) + len(chunk.problems)
        for problem in chunk.problems:
            report.rows_rejected += 1
            report.add_problem(Problem(problem.line, problem.column, problem.value, problem.reason))
        columns = fast.columns(chunk.rows)
        converted = (
            ConvertedColumns(chunk.lines, columns)
            if columns is not None
            else _row_by_row(converter, chunk.lines, chunk.rows, report)
        )
        at = converter.line_id_at
        if at is not None:  # a file without ids: the file's name and the row's line
            name = file_label(source.path)
            converted.columns[at] = [f"{name}:{line}" for line in converted.lines]
        # The raw rows go before the chunk is handed on: a value the conversion kept as it
        # was is then referenced once, and marshal only tracks an object referenced twice.
        del chunk
        yield converted


def _row_by_row(
    converter: RowConverter, lines: list[int], rows: list[list[str]], report: IngestReport
) -> ConvertedColumns:
    kept, converted = [], []
    for line, row in zip(lines, rows, strict=True):
        try:
            values = converter.convert(row)
        except RowErrors as bad:
            report.rows_rejected += 1
            for error in bad.errors:
                report.add_problem(Problem(line, error.column, error.value[:60], error.reason))
            continue
        kept.append(line)
        converted.append(values)
    width = len(converter.field_names)
    columns = (
        [list(c) for c in zip(*converted, strict=True)] if converted else [[] for _ in range(width)]
    )
    return ConvertedColumns(kept, columns)
