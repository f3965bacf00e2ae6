"""Run a mapping over a file without writing anything, and say what an ingest would find.

The converter is the ingest's own (:class:`~privacy.ingest.convert.RowConverter`), row by
row: the rows it rejects here are the rows an ingest would reject, for the same reasons.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from privacy.ingest.convert import (
    RowConverter,
    RowErrors,
    category_table,
    column_table,
)
from privacy.ingest.mapping import Mapping
from privacy.schema import RECORD_KINDS, FieldType

# Line numbers and example values kept per group of rejected rows.
LINES_KEPT = 5
# Distinct unmapped values counted per field.
UNMAPPED_CAP = 1_000


@dataclass
class Rejection:
    """Rows rejected for one reason: how many, the first lines and some values."""

    count: int = 0
    lines: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def add(self, line: int, value: str) -> None:
        """Count one row."""
        self.count += 1
        if len(self.lines) < LINES_KEPT:
            self.lines.append(line)
        if value not in self.values and len(self.values) < LINES_KEPT:
            self.values.append(value)


@dataclass
class Unmapped:
    """Source values of a coded field that its mapping does not name."""

    columns: tuple[str, ...]
    fallback: str | None
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class CheckReport:
    """What running a mapping over a file found."""

    mapping: str
    kind: str
    file_name: str
    rows_read: int = 0
    rows_rejected: int = 0
    per_month: Counter[str] = field(default_factory=Counter)
    unmapped: dict[str, Unmapped] = field(default_factory=dict)
    # (field, column, reason) -> the rows; field is "" for rows that are not readable data
    rejections: dict[tuple[str, str, str], Rejection] = field(default_factory=dict)
    repeated_ids: int = 0
    extra_id_rows: int = 0
    duplicates: str = "error"  # the mapping's policy for repeated ids

    @property
    def rows_accepted(self) -> int:
        """Rows the mapping converts."""
        return self.rows_read - self.rows_rejected

    def reject(self, key: tuple[str, str, str], line: int, value: str) -> None:
        """Count one rejected row's problem."""
        self.rejections.setdefault(key, Rejection()).add(line, value)


class _Coded:
    """Reads the source values of one coded field and counts those its table lacks."""

    def __init__(self, converter: RowConverter, at: int) -> None:
        rule = converter.mapping.rules[at]
        self.name = rule.target.name
        self.numeric = rule.numeric is not None
        # Each column with its own table (a column_values table joins the field's values).
        self.columns = [
            (
                column,
                converter.index[column],
                category_table(replace(rule, values=column_table(rule, column))),
            )
            for column in rule.columns
        ]
        self.found = Unmapped(rule.columns, rule.fallback)

    def count(self, row: list[str]) -> None:
        for column, at, table in self.columns:
            raw = row[at].strip()
            if raw in table or (self.numeric and is_number(raw)):
                continue
            shown = raw if len(self.columns) == 1 else f"{column}: {raw}"
            counts = self.found.counts
            if shown in counts or len(counts) < UNMAPPED_CAP:
                counts[shown] += 1


def _kind_of(reason: str) -> str:
    """A rejection's reason without what is particular to one value (a date's readings),
    so that rows rejected for the same reason are counted together."""
    return re.sub(r"read as .*?;", "read as more than one date;", reason)


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_file(mapping: Mapping, path: Path) -> CheckReport:
    """Convert every row of ``path`` with ``mapping`` and report; nothing is written.

    Raises :class:`~privacy.ingest.reader.FileProblem` for a file that cannot be read and
    :class:`~privacy.ingest.convert.HeaderError` for a header that lacks what the mapping
    reads."""
    if mapping.kind not in RECORD_KINDS:
        raise ValueError(
            f"mapping {mapping.name!r} is for {mapping.kind}; a check is for "
            + ", ".join(RECORD_KINDS)
        )
    with mapping.open(path) as source:
        mapping = mapping.for_header(source.header)
        report = CheckReport(mapping.name, mapping.kind, source.name)
        converter = RowConverter(mapping, source.header)
        names = converter.field_names
        occurred_at = names.index("occurred_at")
        source_id = names.index("source_id")
        # Each layout's own tables (a mapping whose codes changed on a date has several).
        coded: dict[int, list[_Coded]] = {}
        seen: set[str] = set()
        repeated: set[str] = set()
        for chunk in source.chunks(1_000):
            report.rows_read += len(chunk.rows) + len(chunk.problems)
            for problem in chunk.problems:
                report.rows_rejected += 1
                report.reject(("", problem.column, problem.reason), problem.line, problem.value)
            for line, row in zip(chunk.lines, chunk.rows, strict=True):
                layout = converter.layout_of(row)
                if id(layout) not in coded:
                    coded[id(layout)] = _coded_fields(layout)
                for reader in coded[id(layout)]:
                    reader.count(row)
                try:
                    values = converter.convert(row)
                except RowErrors:
                    report.rows_rejected += 1
                    for name, error in converter.named_errors(row):
                        reason = _kind_of(error.reason)
                        report.reject((name, error.column, reason), line, error.value)
                    continue
                # A file without ids: each id is the file's name and the row's line, as ingest
                # makes it, so no two rows share one.
                key = str(values[source_id]) if converter.line_id_at is None else str(line)
                if key in seen:
                    repeated.add(key)
                    report.extra_id_rows += 1
                    if mapping.duplicates == "first":
                        continue  # left out by an ingest: not counted
                else:
                    seen.add(key)
                moment = values[occurred_at]
                if isinstance(moment, date):
                    report.per_month[f"{moment.year:04d}-{moment.month:02d}"] += 1
        report.repeated_ids = len(repeated)
        report.duplicates = mapping.duplicates
    for readers in coded.values():
        for reader in readers:
            if not reader.found.counts:
                continue
            if reader.name in report.unmapped:
                report.unmapped[reader.name].counts.update(reader.found.counts)
            else:
                report.unmapped[reader.name] = reader.found
    return report


def _coded_fields(converter: RowConverter) -> list[_Coded]:
    """A counter of unmapped values for each coded field ``converter`` reads from columns."""
    return [
        _Coded(converter, i)
        for i, rule in enumerate(converter.mapping.rules)
        if rule.target.type is FieldType.CATEGORY and rule.columns
    ]
