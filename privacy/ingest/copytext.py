"""Rows as PostgreSQL ``COPY ... FROM STDIN`` text, built a column at a time.

psycopg's ``write_row`` formats one value at a time in Python; for a million rows that was
a quarter of an ingest. Formatting whole columns with ``map`` and joining them is several
times faster, and it can run in the conversion worker instead of the writing process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NONE = type(None)


@dataclass(frozen=True)
class CopyTarget:
    """What every row of a batch carries before its values: its source and batch."""

    source: str
    batch_id: int


def copy_records(lines: Sequence[int], columns: Sequence[Sequence[Any]], target: CopyTarget) -> str:
    """COPY text of records (``source, batch_id, line, *values``) for rows given as their
    lines and their value columns (``source_id`` first)."""
    if not lines:
        return ""
    texts = [_column_text(column) for column in columns]
    head = f"{_value_text(target.source)}\t{int(target.batch_id)}"
    # One join a row, the source and batch its first field.
    rows = map("\t".join, zip([head] * len(lines), map(str, lines), *texts, strict=True))
    return "\n".join(rows) + "\n"


def ids_text(records: str) -> str:
    """The ``line, source_id`` COPY text of records' COPY text: wanted only once a batch
    turns a row away, so it is cut from the records then rather than built for every
    chunk. Rows are split on newlines and fields on tabs only: COPY's text escapes both
    inside values (``str.splitlines`` would also split on characters it leaves as they
    are, such as U+2028)."""
    rows = records.split("\n")
    if rows[-1] == "":  # after the last newline
        rows.pop()
    return "".join(["\t".join(row.split("\t", 4)[2:4]) + "\n" for row in rows])


def copy_text(rows: Sequence[tuple[Any, ...]]) -> str:
    """The rows in COPY's text format: tab-separated, ``\\N`` for NULL, one row per line."""
    if not rows:
        return ""
    columns = [_column_text(column) for column in zip(*rows, strict=True)]
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


def _column_text(column: Sequence[Any]) -> Sequence[str]:
    # A column is of one type, often with blanks (None) among its values: each such
    # column is formatted in one pass, not value by value through _value_text. Most are
    # text throughout, which joining them finds out at once (it fails on anything else).
    try:
        joined = "".join(column)
    except TypeError:
        pass
    else:
        return [value.translate(_ESCAPES) for value in column] if _escapes(joined) else column
    kinds = set(map(type, column))
    kinds.discard(_NONE)
    if kinds <= {str}:  # text with blanks
        joined = "".join([value for value in column if value is not None])
        escape = _escapes(joined)
        return [
            NULL if value is None else value.translate(_ESCAPES) if escape else value
            for value in column
        ]
    if kinds <= {int, float}:
        return [NULL if value is None else repr(value) for value in column]
    if kinds <= {datetime, date}:
        return [NULL if value is None else value.isoformat() for value in column]
    return [_value_text(value) for value in column]


def _escapes(text: str) -> bool:
    """Whether ``text`` holds a character COPY's text format must escape."""
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


def _value_text(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)
