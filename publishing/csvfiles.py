"""CSV as the portal writes it: safe to open in a spreadsheet, and read back as written.

Two rules for every CSV file the site serves or a release writes:

- OWASP's rule against CSV injection: a text cell that begins with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading ``'``, so a spreadsheet shows it as text
  instead of running it as a formula. Which cells are text is decided by the column's
  declared type (a Frictionless type: ``string``, ``integer``, ``number``), never by the
  look of the value: a number, a negative one too, stays a number.
- RFC 4180 quoting: a cell holding a comma, a double quote, a line feed or a carriage
  return is quoted. (The csv module quotes only the characters of its line terminator, so
  with ``\\n`` line endings it wrote a carriage return bare, which split the row in two.)

Rows end with ``\\n``; the text is UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""How a text cell that a spreadsheet would run as a formula begins (OWASP)."""

TEXT: Final = "string"
"""The declared type of a text column."""

_QUOTED = re.compile('[",\r\n]')


def csv_text(value: str) -> str:
    """A text cell as it is written: with a leading ``'`` when it begins like a
    spreadsheet formula (:data:`FORMULA_STARTS`), unchanged otherwise."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_row(values: Sequence[Any], types: Sequence[str]) -> list[Any]:
    """One row's cells: those of text columns through :func:`csv_text`, the others (numbers,
    and numbers already formatted as text) as they are."""
    return [
        csv_text(value) if kind == TEXT and isinstance(value, str) else value
        for value, kind in zip(values, types, strict=True)
    ]


def csv_bytes(header: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file: the header (text), then each row, its cells typed by ``types``.
    ``None`` is written as an empty cell."""
    lines = [_line(csv_row(header, [TEXT] * len(header)))]
    lines += [_line(csv_row(row, types)) for row in rows]
    return "".join(lines).encode("utf-8")


def _line(cells: Sequence[Any]) -> str:
    return ",".join(map(_cell, cells)) + "\n"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if _QUOTED.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text
