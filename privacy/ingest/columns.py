"""Convert a chunk of rows column by column: the fast path of ingest.

Most of a large file's fields are plain code lookups, ids, numbers and ISO timestamps. Done
a column at a time with ``map`` over built-in functions they run at C speed, several times
faster than a Python function per field per row. Any surprise in a chunk (an unknown code, a
blank id, a bad date) abandons the fast path for that chunk, and the caller converts it row
by row with :class:`~privacy.ingest.convert.RowConverter`, which names every bad field. The
fast path only ever handles what the row path would accept, and gives the same values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from operator import methodcaller
from typing import Any

from privacy import vocabulary as v
from privacy.ingest.convert import DEGREES, RowConverter, category_table
from privacy.ingest.coordinates import projection
from privacy.ingest.mapping import FieldRule
from privacy.ingest.safety import holds_area_code, unstorable
from privacy.schema import FieldType
from publishing.codes import AREA_CODE

Columns = Sequence[Sequence[str]]
Plan = Callable[[list[list[str]], Columns], list[Any]]
_AS_SQLITE_TEXT = methodcaller("isoformat", " ", "microseconds")


class Fallback(Exception):
    """This chunk needs the row-by-row path."""


class ColumnConverter:
    """Compiled column plans for one mapping and header.

    ``floats_as_text`` is for values bound for PostgreSQL's COPY text: a number column
    written plainly (digits, a point, a minus, 24 characters at most) then keeps the text it
    was read as, which COPY reads to the same double that ``float`` gave (both round
    correctly), instead of being formatted again."""

    def __init__(self, converter: RowConverter, *, floats_as_text: bool = False) -> None:
        self.row_converter = converter
        self._floats_as_text = floats_as_text
        mapping = converter.mapping
        self._kind = mapping.kind
        self._nulls = mapping.null_values
        self._zone = mapping.timezone
        # The chunk whose points were last transformed, and its (longitudes, latitudes).
        self._points: dict[tuple[str, int, int], tuple[object, tuple[list[float], ...]]] = {}
        self._plans = [
            self._plan(rule, fn)
            for rule, fn in zip(mapping.rules, converter.field_functions, strict=True)
        ]
        names = converter.field_names
        self._derive = (
            (names.index("offense_category"), names.index("crime_against"))
            if converter.derives_crime_against
            else None
        )

    def columns(self, rows: list[list[str]]) -> list[list[Any]] | None:
        """Each canonical field's values, row after row, or None when the chunk needs the
        row-by-row path."""
        if self.row_converter.reads_by_date:
            return None  # each row's layout depends on its date
        if not rows:
            return [[] for _ in self._plans]
        columns = list(zip(*rows, strict=True))
        try:
            values = [plan(rows, columns) for plan in self._plans]
        except (Fallback, KeyError, ValueError, TypeError):
            return None
        if self._derive is not None:
            offense, against = self._derive
            values[against] = list(map(v.CRIME_AGAINST_BY_OFFENSE.__getitem__, values[offense]))
        return values

    def convert(self, lines: list[int], rows: list[list[str]]) -> list[tuple[Any, ...]] | None:
        """``(line, *values)`` per row, as the row path gives them, or None when the chunk
        needs the row-by-row path."""
        values = self.columns(rows)
        return None if values is None else list(zip(lines, *values, strict=True))

    def _plan(self, rule: FieldRule, row_fn: Callable[[Sequence[str]], Any]) -> Plan:
        kind = rule.target.type
        simple = (
            len(rule.columns) == 1
            and not rule.values
            and rule.transform is None
            and rule.fallback is None
            and rule.numeric is None
        )
        if rule.parent_of is not None:  # read from another field: row by row
            return lambda rows, columns: list(map(row_fn, rows))
        if not rule.columns:  # a constant, or a field the mapping leaves out
            constant = row_fn(())
            return lambda rows, columns: [constant] * len(rows)
        at = self.row_converter.index[rule.columns[0]] if len(rule.columns) == 1 else -1
        if (
            kind is FieldType.CATEGORY
            and len(rule.columns) == 1
            and rule.numeric is None
            and rule.fallback is None
        ):
            return self._categories(at, category_table(rule))
        if simple and kind in (FieldType.ID, FieldType.AREA):
            return self._required_text(at, area_codes=holds_area_code(self._kind, rule.target))
        if simple and kind in (FieldType.KEY, FieldType.TEXT) and not rule.target.required:
            return self._optional_text(at)
        if rule.projection is not None:
            return self._projected(rule)
        if simple and kind is FieldType.FLOAT:
            return self._floats(at, DEGREES.get(rule.target.name))
        if (
            kind is FieldType.DATETIME
            and len(rule.columns) == 1
            and rule.format == "iso"
            and rule.transform is None
        ):
            return self._iso_datetimes(at, self.row_converter.datetime_as_text)
        if kind in (FieldType.DATETIME, FieldType.DATE):
            return self._distinct_dates([self.row_converter.index[c] for c in rule.columns], row_fn)
        return lambda rows, columns: list(map(row_fn, rows))

    @staticmethod
    def _categories(at: int, table: dict[str, str]) -> Plan:
        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            column = columns[at]
            # A category column holds a handful of distinct values: look each up once
            # (KeyError for an unknown one), then translate the column in one C-level pass.
            seen = {value: table[value.strip()] for value in set(column)}
            return list(map(seen.__getitem__, column))

        return plan

    def _required_text(self, at: int, *, area_codes: bool) -> Plan:
        nulls = self._nulls

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            values = list(map(str.strip, columns[at]))
            if "" in values or not nulls.isdisjoint(values):
                raise Fallback
            if area_codes:
                # Area codes repeat: each distinct one is matched once.
                if not all(map(AREA_CODE.match, set(values))):
                    raise Fallback
            elif unstorable("".join(values)):
                raise Fallback  # a NUL or a lone surrogate: the row path names it
            return values

        return plan

    def _optional_text(self, at: int) -> Plan:
        nulls = self._nulls

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            values = list(map(str.strip, columns[at]))
            if unstorable("".join(values)):
                raise Fallback
            if "" in values or not nulls.isdisjoint(values):
                return [x if x and x not in nulls else None for x in values]
            return values

        return plan

    def _floats(self, at: int, limit: float | None) -> Plan:
        missing = self._nulls | {""}

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            # Blanks are few: they are found and filled at C speed, converted as zeros,
            # and put back as None, so the column is converted in one pass of float(),
            # which reads padded numbers too (a padded null word fails it: the row path).
            filled = list(columns[at])
            holes = _positions(filled, missing)
            for hole in holes:
                filled[hole] = "0"
            values: list[Any] = list(map(float, filled))
            if not math.isfinite(math.fsum(values)):
                raise Fallback  # a NaN or an infinity: the row path names it
            if limit is not None and values and (max(values) > limit or min(values) < -limit):
                raise Fallback  # not degrees: the row path says so
            if (
                self._floats_as_text
                and _PLAIN_NUMBERS.fullmatch("".join(filled))
                and max(map(len, filled), default=0) <= _PLAIN_NUMBER_LENGTH
            ):
                values = filled
            for hole in holes:
                values[hole] = None
            return values

        return plan

    def _projected(self, rule: FieldRule) -> Plan:
        """lat or lng from an easting and a northing column: a chunk's points are
        transformed in one call (once for both fields), any blank or stray point left to
        the row path."""
        assert rule.projection is not None
        system = projection(rule.projection)
        east_at, north_at = (self.row_converter.index[c] for c in rule.columns)
        take = 1 if rule.target.name == "lat" else 0
        key = (rule.projection, east_at, north_at)

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            done = self._points.get(key)
            if done is None or done[0] is not rows:
                eastings = list(map(float, columns[east_at]))  # ValueError: the row path
                northings = list(map(float, columns[north_at]))
                lngs, lats = system.degrees(eastings, northings)
                if any(map(system.outside, lngs, lats)):
                    raise Fallback
                done = (rows, (lngs, lats))
                self._points[key] = done
            return done[1][take]

        return plan

    @staticmethod
    def _distinct_dates(ats: list[int], row_fn: Callable[[Sequence[str]], Any]) -> Plan:
        """A date or time in any format the mapping language reads, from one column or
        several (a date and a time): the row path's own reading, run once per distinct
        value of the chunk. A chunk's dates repeat (a month, a day, a minute), so most
        of its rows cost a dictionary lookup; a bad value raises, and the row path names
        it."""

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            keys: Sequence[Any] = (
                columns[ats[0]]
                if len(ats) == 1
                else list(zip(*(columns[a] for a in ats), strict=True))
            )
            # A row that has each distinct value: the row path reads only these columns.
            having = dict(zip(keys, rows, strict=True))
            seen = {key: row_fn(row) for key, row in having.items()}
            return list(map(seen.__getitem__, keys))

        return plan

    def _iso_datetimes(self, at: int, as_text: bool) -> Plan:
        nulls, zone = self._nulls, self._zone
        earliest, latest = datetime(1900, 1, 1), datetime(2100, 12, 31, 23, 59, 59)

        # A blank, a null word or a padded value fails fromisoformat (ValueError: the row
        # path, which strips and knows nulls); only a null that reads as a time must be
        # looked for.
        timelike_nulls = frozenset(token for token in nulls if _reads_as_time(token))

        def plan(rows: list[list[str]], columns: Columns) -> list[Any]:
            raw = columns[at]
            if timelike_nulls and not timelike_nulls.isdisjoint(raw):
                raise Fallback
            moments = list(map(datetime.fromisoformat, raw))
            if moments[0].tzinfo is not None:
                if any(m.tzinfo is None for m in moments):
                    raise Fallback  # mixed naive and aware values: the row path decides
                moments = [m.astimezone(zone).replace(tzinfo=None) for m in moments]
            if min(moments) < earliest or max(moments) > latest:
                raise Fallback
            if not as_text:
                return moments
            if moments[0].tzinfo is None and _plain_seconds(raw):
                # Already the stored text but for its separator and fraction: spliced, which
                # costs a third of formatting each time again.
                return [f"{value[:10]} {value[11:]}.000000" for value in raw]
            return list(map(_AS_SQLITE_TEXT, moments))

        return plan


def _plain_seconds(raw: Sequence[str]) -> bool:
    """Whether every value of a column that ``fromisoformat`` read is written
    ``YYYY-MM-DDTHH:MM:SS`` (or with a space for the T): each 19 characters with the
    separators in place, checked on the joined column at C speed."""
    if set(map(len, raw)) != {_PLAIN_LENGTH}:
        return False
    joined = "".join(raw)
    return all(set(joined[at::_PLAIN_LENGTH]) <= allowed for at, allowed in _PLAIN_SEPARATORS)


_PLAIN_NUMBERS = re.compile(r"[0-9.-]*")
# No plain number this long is beyond a double's range either way (the smallest is 1e-22),
# where PostgreSQL refuses what float() reads as 0 or infinity.
_PLAIN_NUMBER_LENGTH = 24
_PLAIN_LENGTH = 19
_PLAIN_SEPARATORS = ((4, {"-"}), (7, {"-"}), (10, {"T", " "}), (13, {":"}), (16, {":"}))


def _positions(values: list[str], tokens: frozenset[str] | set[str]) -> list[int]:
    """Where ``values`` holds one of ``tokens``: a loop per occurrence, not per value."""
    found = []
    for token in tokens.intersection(values):
        start = 0
        with suppress(ValueError):
            while True:
                start = values.index(token, start) + 1
                found.append(start - 1)
    return found


def _reads_as_time(token: str) -> bool:
    try:
        datetime.fromisoformat(token)
    except ValueError:
        return False
    return True
