"""Turn one source row into one canonical record, or say exactly why not.

A mapping compiles into one small function per canonical field. Each returns the canonical
value or raises :class:`FieldError` naming the column, the value and the reason. This is the
reference path: :mod:`privacy.ingest.columns` converts whole chunks faster and hands any
chunk it is unsure of back to this code.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from privacy import vocabulary as v
from privacy.ingest.coordinates import projection
from privacy.ingest.mapping import JOIN, PRODUCT, FieldRule, Mapping
from privacy.ingest.safety import (
    area_code_reason,
    holds_area_code,
    unstorable,
    unstorable_reason,
)
from privacy.schema import FieldType

Value = Any
FieldFn = Callable[[Sequence[str]], Value]

# Dates outside this window are almost always a parsing or data-entry error.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2100
_SLUG = re.compile(r"[^a-z0-9]+")
# Coordinates without a projection are degrees: these are their bounds.
DEGREES = {"lat": 90.0, "lng": 180.0}


def degrees_reason(name: str) -> str:
    """Why a lat or lng value is refused: outside its bounds in degrees."""
    return (
        f"{name} outside -{DEGREES[name]:.0f}..{DEGREES[name]:.0f} degrees; coordinates in "
        'feet or metres need their projection: columns = ["X", "Y"] and projection = '
        '"EPSG:...", in both [fields.lat] and [fields.lng]'
    )


class FieldError(ValueError):
    """One field of one row could not be read."""

    def __init__(self, column: str, value: str, reason: str) -> None:
        super().__init__(f"{column}={value!r}: {reason}")
        self.column = column
        self.value = value
        self.reason = reason


class HeaderError(ValueError):
    """The file's header does not carry what the mapping reads."""


def slug(text: str) -> str:
    """Lower-case code with runs of other characters as one hyphen (``St. Anthony`` ->
    ``st-anthony``)."""
    return _SLUG.sub("-", text.lower().replace("'", "").replace("\u2019", "")).strip("-")


_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "slug": slug,
    "lower": str.lower,
    "upper": str.upper,
    "strip-zeros": lambda s: s.lstrip("0") or ("0" if s else s),
    # Dates whose first number lost its leading zero ("1012014" for 01012014): the
    # department's export pads every other number, so padding on the left reads them once.
    "zero-pad-6": lambda s: s.zfill(6),
    "zero-pad-8": lambda s: s.zfill(8),
}


class RowConverter:
    """Compiled mapping: ``convert(row)`` gives the canonical values in schema order."""

    def __init__(
        self, mapping: Mapping, header: Sequence[str], *, datetime_as_text: bool = False
    ) -> None:
        self.mapping = mapping
        self.field_names = tuple(rule.target.name for rule in mapping.rules)
        self.index = _resolve_header(mapping, header)
        # SQLite stores datetimes as text; producing it here saves a pass over every row.
        self.datetime_as_text = datetime_as_text
        self.field_functions = [self._compile(rule) for rule in mapping.rules]
        # Which of a row's converted values is an id made from its line, if any.
        self.line_id_at = next((i for i, rule in enumerate(mapping.rules) if rule.from_line), None)
        derived = mapping.kind == "incidents" and not _has_source(
            next(r for r in mapping.rules if r.target.name == "crime_against")
        )
        self.derives_crime_against = derived
        if derived:
            self._offense_at = self.field_names.index("offense_category")
            self._against_at = self.field_names.index("crime_against")
        # A layout that changed on a date within the files: each row is read by the layout
        # of its date, the date read as this mapping reads it (variants may not change it).
        self._starts = [start for start, _ in mapping.dated]
        self._dated = [
            RowConverter(layout, header, datetime_as_text=datetime_as_text)
            for _, layout in mapping.dated
        ]
        if self._dated:
            when = next(r for r in mapping.rules if r.target.name == "occurred_at")
            self._read_date = self._compile_time(when, as_text=False)

    @property
    def reads_by_date(self) -> bool:
        """Whether rows are read by the layout of their date (row by row, then)."""
        return bool(self._dated)

    def layout_of(self, row: Sequence[str]) -> RowConverter:
        """The converter for the layout in use on the row's date: this one, unless the
        mapping has variants that start on a date the row is on or after."""
        if not self._dated:
            return self
        try:
            moment = self._read_date(row)
        except FieldError:
            return self  # this layout's date rule says what is wrong with the date
        day = moment.date() if isinstance(moment, datetime) else moment
        assert isinstance(day, date)
        at = bisect_right(self._starts, day)
        return self if at == 0 else self._dated[at - 1]

    def convert(self, row: Sequence[str]) -> list[Value]:
        """Convert a row; raise :class:`RowErrors` with every bad field of it."""
        layout = self.layout_of(row)
        if layout is not self:
            return layout.convert(row)
        try:
            values = [fn(row) for fn in self.field_functions]
        except FieldError:
            raise RowErrors(self.errors(row)) from None
        if self.derives_crime_against:
            values[self._against_at] = v.CRIME_AGAINST_BY_OFFENSE[values[self._offense_at]]
        return values

    def named_errors(self, row: Sequence[str]) -> list[tuple[str, FieldError]]:
        """Every field error of a row with its field's name (slow path, for rows that
        fail), as the layout of the row's date reads it."""
        layout = self.layout_of(row)
        found = []
        for name, fn in zip(layout.field_names, layout.field_functions, strict=True):
            try:
                fn(row)
            except FieldError as error:
                found.append((name, error))
        return found

    def errors(self, row: Sequence[str]) -> list[FieldError]:
        """Every field error of a row (slow path, only for rows that fail)."""
        return [error for _, error in self.named_errors(row)]

    def _compile(self, rule: FieldRule) -> FieldFn:
        target = rule.target
        if rule.from_line:  # filled in with the line by the chunk loop (privacy.ingest.rows)
            return lambda row: None
        if rule.parent_of == "beat":
            beat = self._compile(next(r for r in self.mapping.rules if r.target.name == "beat"))
            parents = self.mapping.beat_districts
            return lambda row: parents.get(str(beat(row)), v.UNKNOWN)
        if not _has_source(rule):
            default = _default_for(rule)
            return lambda row: default
        if rule.constant is not None:
            constant = _parse_constant(rule)
            return lambda row: constant
        kind = target.type
        if kind in (FieldType.DATETIME, FieldType.DATE):
            return self._compile_time(rule)
        if rule.projection is not None:
            return self._compile_projected(rule)
        if len(rule.columns) > 1:
            return self._compile_combined(rule)
        column = rule.columns[0]
        at = self.index[column]
        nulls = self.mapping.null_values
        if kind is FieldType.ID and holds_area_code(self.mapping.kind, target):
            return _compile_text(rule, column, at, nulls, area_code=True)
        single = _SINGLE_COMPILERS[kind]
        return single(rule, column, at, nulls)

    def _compile_time(self, rule: FieldRule, *, as_text: bool | None = None) -> FieldFn:
        ats = [self.index[c] for c in rule.columns]
        pad = _TRANSFORMS[rule.transform] if rule.transform else None  # the first column
        take = rule.take
        column = "+".join(rule.columns)
        parse = time_parser(rule.format, self.mapping.timezone)
        want_date = rule.target.type is FieldType.DATE
        as_text = self.datetime_as_text if as_text is None else as_text
        required = rule.target.required
        nulls = self.mapping.null_values

        def read(row: Sequence[str]) -> Value:
            parts = [row[i].strip() for i in ats]
            if any(not part or part in nulls for part in parts):
                if required:
                    raise FieldError(
                        column,
                        " ".join(parts),
                        f"{rule.target.name} is required but the cell is blank or a null value",
                    )
                return None
            if pad is not None:
                parts[0] = pad(parts[0])
            if take:
                parts = [_part_of(cell, part) for cell, part in zip(parts, take, strict=True)]
            raw = " ".join(parts)
            try:
                moment = parse(raw)
            except AmbiguousDate as ambiguous:
                raise FieldError(column, raw, str(ambiguous)) from None
            except ValueError:
                raise FieldError(column, raw, f"not a date in the format {rule.format!r}") from None
            if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
                raise FieldError(column, raw, f"year outside {EARLIEST_YEAR}..{LATEST_YEAR}")
            if want_date:
                return moment.date()
            return moment.isoformat(" ", "microseconds") if as_text else moment

        return read

    def _compile_projected(self, rule: FieldRule) -> FieldFn:
        assert rule.projection is not None
        system = projection(rule.projection)
        east_at, north_at = (self.index[c] for c in rule.columns)
        column = "+".join(rule.columns)
        nulls = self.mapping.null_values
        take = 1 if rule.target.name == "lat" else 0

        def read(row: Sequence[str]) -> Value:
            east, north = row[east_at].strip(), row[north_at].strip()
            blank = [not cell or cell in nulls for cell in (east, north)]
            if all(blank):
                return None
            raw = f"{east} {north}"
            if any(blank):
                raise FieldError(column, raw, "a point needs both its easting and its northing")
            try:
                point = float(east), float(north)
            except ValueError:
                raise FieldError(column, raw, "not a number") from None
            (lng,), (lat,) = system.degrees([point[0]], [point[1]])
            problem = system.point_problem(lng, lat)
            if problem is not None:
                raise FieldError(column, raw, problem)
            return (lng, lat)[take]

        return read

    def _compile_combined(self, rule: FieldRule) -> FieldFn:
        nulls = self.mapping.null_values
        if rule.combine == JOIN:  # an id or text from several columns
            parts = [
                _compile_text(replace(rule, values={}), column, self.index[column], nulls)
                for column in rule.columns
            ]
            separator = rule.separator

            def joined(row: Sequence[str]) -> Value:
                found = [part(row) for part in parts]
                if any(value is None for value in found):
                    return None  # a blank part: blank as a whole (an error if required)
                return separator.join(str(value) for value in found)

            return joined
        if rule.combine == PRODUCT:
            return _compile_product(rule, [(c, self.index[c]) for c in rule.columns], nulls)
        readers = [
            _compile_category(
                replace(rule, values=column_table(rule, column)), column, self.index[column], nulls
            )
            for column in rule.columns
        ]
        if rule.combine == "any":

            def combine(codes: list[str]) -> str:
                if "yes" in codes:
                    return "yes"
                return v.UNKNOWN if v.UNKNOWN in codes else "no"
        elif rule.combine == "first":  # flag columns in order of priority

            def combine(codes: list[str]) -> str:
                return next((code for code in codes if code != v.UNKNOWN), v.UNKNOWN)
        else:
            severity = rule.target.vocabulary

            def combine(codes: list[str]) -> str:
                worst = max(codes, key=lambda code: v.outcome_severity(code, severity))
                # "none" with a column not recorded is not known to be none.
                least = severity[0]  # "none" (or "no further action")
                return v.UNKNOWN if worst == least and v.UNKNOWN in codes else worst

        return lambda row: combine([read(row) for read in readers])


def _has_source(rule: FieldRule) -> bool:
    return bool(rule.columns) or rule.constant is not None


def _default_for(rule: FieldRule) -> Value:
    if rule.target.type in (FieldType.CATEGORY, FieldType.AREA):
        return v.UNKNOWN
    return None


def _parse_constant(rule: FieldRule) -> Value:
    assert rule.constant is not None
    if rule.target.type is FieldType.INT:
        return int(rule.constant)
    if rule.target.type is FieldType.FLOAT:
        return float(rule.constant)
    return rule.constant


def _part_of(cell: str, part: str) -> str:
    """The date ("2014-01-05") or the time ("09:05:00") of a cell that may hold both,
    split at its first space or "T"; a cell with one part gives it whole."""
    if part == "all":
        return cell
    split = re.split(r"[ T]", cell, maxsplit=1)
    if len(split) == 1:
        return cell
    return split[0] if part == "date" else split[1]


class AmbiguousDate(ValueError):
    """Digits run together that a format cannot split without leading zeros."""


# Numbers (month, day, hour, ...) written directly after one another: without leading
# zeros strptime splits "1012014" under %m%d%Y as 10/1/2014, silently. Digits run together
# must therefore have their full widths.
_WIDTHS = {"m": 2, "d": 2, "H": 2, "I": 2, "M": 2, "S": 2, "y": 2, "j": 3, "Y": 4}
_TOKEN = re.compile(r"%(.)|([^%]+)")


def _packed_pattern(fmt: str) -> re.Pattern[str] | None:
    """A pattern that the text of ``fmt`` must match when some of its numbers run together
    (each of those at its full width), or None when none do."""
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(fmt)]
    numeric = [d is not None and d in _WIDTHS for d, _ in tokens]
    packed = [
        numeric[i] and ((i > 0 and numeric[i - 1]) or (i + 1 < len(tokens) and numeric[i + 1]))
        for i in range(len(tokens))
    ]
    if not any(packed):
        return None
    parts = []
    for (directive, literal), fixed in zip(tokens, packed, strict=True):
        if literal is not None:
            parts.append(re.escape(literal))
        elif fixed:
            parts.append(rf"\d{{{_WIDTHS[directive]}}}")
        else:
            parts.append(".+?")
    return re.compile("".join(parts))


def readings(raw: str, fmt: str) -> list[datetime]:
    """Every date ``raw`` can be read as under ``fmt`` when its numbers may have lost their
    leading zeros (each number of one digit up to its full width)."""
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(fmt)]
    found: set[datetime] = set()

    def walk(at: int, rest: str, padded: str) -> None:
        if at == len(tokens):
            if not rest:
                with contextlib.suppress(ValueError):  # not a date: not a reading
                    found.add(datetime.strptime(padded, fmt))
            return
        directive, literal = tokens[at]
        if literal is not None:
            if rest.startswith(literal):
                walk(at + 1, rest[len(literal) :], padded + literal)
            return
        width = _WIDTHS.get(directive or "")
        if width is None:  # a directive that is not a number: up to the next literal
            following = tokens[at + 1][1] if at + 1 < len(tokens) else None
            end = rest.find(following) if following else len(rest)
            if end > 0:
                walk(at + 1, rest[end:], padded + rest[:end])
            return
        for used in range(4 if directive == "Y" else 1, width + 1):  # years keep 4 digits
            digits = rest[:used]
            if len(digits) == used and digits.isdigit():
                walk(at + 1, rest[used:], padded + digits.zfill(width))

    walk(0, raw, "")
    return sorted(found)


def time_parser(fmt: str, zone: ZoneInfo) -> Callable[[str], datetime]:
    def to_local(moment: datetime) -> datetime:
        # Aware timestamps (UTC exports) become the department's local wall time.
        if moment.tzinfo is not None:
            return moment.astimezone(zone).replace(tzinfo=None)
        return moment

    if fmt == "iso":
        return lambda raw: to_local(datetime.fromisoformat(raw))
    pattern = _packed_pattern(fmt)
    if pattern is None:
        return lambda raw: to_local(datetime.strptime(raw, fmt))

    def packed(raw: str) -> datetime:
        moment = datetime.strptime(raw, fmt)
        if not pattern.fullmatch(raw):
            found = readings(raw, fmt)
            if len(found) == 1:  # the digits split one way only ("3022024": 3/02/2024)
                return to_local(found[0])
            said = " or ".join(m.isoformat(" ") for m in found) or "nothing valid"
            raise AmbiguousDate(
                f"the digits run together under the format {fmt!r} and, without leading "
                f"zeros, read as {said}; export the dates with leading zeros, or say how to "
                'read them (transform = "zero-pad-8" when only the first number lost its '
                "zero, or a format with separators)"
            )
        return to_local(moment)

    return packed


def _compile_category(rule: FieldRule, column: str, at: int, nulls: frozenset[str]) -> FieldFn:
    vocabulary = rule.target.vocabulary
    table = category_table(rule)
    fallback = rule.fallback
    numeric = rule.numeric

    def read(row: Sequence[str]) -> Value:
        raw = row[at].strip()
        try:
            return table[raw]
        except KeyError:
            pass
        if numeric == "age_band":
            try:
                return v.age_band(float(raw))
            except ValueError:
                pass
        elif numeric == "age_range":
            try:
                return v.age_range_band(raw)
            except v.StraddlingRange as straddling:
                raise FieldError(
                    column,
                    raw,
                    f'{straddling}: map it in the mapping\'s values, to "unknown" or to the '
                    "band you decide (the mapping then records that decision)",
                ) from None
            except ValueError:
                pass
        if fallback is not None:
            return fallback
        hint = "add it to the mapping's values"
        if raw == "":
            hint = 'map the blank ("" = "unknown") in the mapping\'s values'
        close = difflib.get_close_matches(raw.lower(), vocabulary, n=1)
        if close:
            hint += f" (did you mean {close[0]!r}?)"
        raise FieldError(
            column,
            raw,
            f"code not known to the mapping for {rule.target.name}; {hint}, or map it to 'unknown'",
        )

    return read


def column_table(rule: FieldRule, column: str) -> dict[str, str]:
    """The value table for one of a rule's columns: the field's ``values``, with the
    column's own ``column_values`` over them."""
    return {**rule.values, **rule.column_values.get(column, {})}


def category_table(rule: FieldRule) -> dict[str, str]:
    """Source value -> canonical code for a category field. Canonical codes map to
    themselves unless the mapping says otherwise; where the mapping has a value table, only
    the codes it (or its fallback) names do, because the department profile takes the
    codes a value table names as the only ones that can occur: a code passed through
    unnamed would land in a cell published as a structural zero."""
    named = {*rule.values.values(), *([rule.fallback] if rule.fallback else [])}
    table = {code: code for code in rule.target.vocabulary if not rule.values or code in named}
    table.update(rule.values)  # the mapping's own words win over identical canonical codes
    return table


def _compile_area(rule: FieldRule, column: str, at: int, nulls: frozenset[str]) -> FieldFn:
    # The mapping's values and fallback are area codes already (checked when it loads).
    table = rule.values
    transform = _TRANSFORMS[rule.transform] if rule.transform else None
    fallback = rule.fallback

    def read(row: Sequence[str]) -> Value:
        raw = row[at].strip()
        try:
            return table[raw]
        except KeyError:
            pass
        if raw == "" or raw in nulls:
            if fallback is not None:
                return fallback
            raise FieldError(
                column,
                raw,
                'blank area code; map it in the mapping\'s values (for example "" = "unknown")',
            )
        code = transform(raw) if transform else raw
        reason = area_code_reason(code)
        if reason is not None:
            raise FieldError(column, raw, reason)
        return code

    return read


def _compile_text(
    rule: FieldRule, column: str, at: int, nulls: frozenset[str], *, area_code: bool = False
) -> FieldFn:
    required = rule.target.required
    table = rule.values
    transform = _TRANSFORMS[rule.transform] if rule.transform else None

    def read(row: Sequence[str]) -> Value:
        raw = row[at].strip()
        if raw in table:
            return table[raw]
        if not raw or raw in nulls:
            if required:
                raise FieldError(column, raw, f"{rule.target.name} is required but blank")
            return None
        text = transform(raw) if transform else raw
        if area_code:
            reason = area_code_reason(text)
            if reason is not None:
                raise FieldError(column, raw, reason)
        elif unstorable(text):
            raise FieldError(column, raw, unstorable_reason(text))
        return text

    return read


def _compile_number(rule: FieldRule, column: str, at: int, nulls: frozenset[str]) -> FieldFn:
    integer = rule.target.type is FieldType.INT
    limit = DEGREES.get(rule.target.name)

    def read(row: Sequence[str]) -> Value:
        raw = row[at].strip()
        if not raw or raw in nulls:
            return None
        try:
            number = float(raw)
        except ValueError:
            raise FieldError(column, raw, "not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise FieldError(column, raw, "not a finite number")
        if limit is not None and not -limit <= number <= limit:
            raise FieldError(column, raw, degrees_reason(rule.target.name))
        if integer:
            if not number.is_integer() or number < 0:
                raise FieldError(column, raw, "not a whole non-negative number")
            return int(number)
        return number

    return read


def _compile_product(
    rule: FieldRule, columns: list[tuple[str, int]], nulls: frozenset[str]
) -> FieldFn:
    """The product of several number columns (a share times a total), rounded to a whole
    number for a whole-number field; blank where any of them is blank."""
    factors = [
        _compile_number(
            replace(rule, target=replace(rule.target, type=FieldType.FLOAT)), c, at, nulls
        )
        for c, at in columns
    ]
    integer = rule.target.type is FieldType.INT
    column = "*".join(c for c, _ in columns)

    def read(row: Sequence[str]) -> Value:
        found = [factor(row) for factor in factors]
        numbers = [value for value in found if isinstance(value, float)]
        if len(numbers) < len(found):
            return None  # a blank factor: blank as a whole (an error if required)
        product = math.prod(numbers)
        if product < 0:
            raise FieldError(column, " ".join(str(x) for x in numbers), "a negative product")
        return round(product) if integer else product

    return read


def _compile_codes(rule: FieldRule, column: str, at: int, nulls: frozenset[str]) -> FieldFn:
    transform = _TRANSFORMS[rule.transform] if rule.transform else None
    required = rule.target.required

    def read(row: Sequence[str]) -> Value:
        codes = [c.strip() for c in row[at].split(rule.separator) if c.strip()]
        if required and not codes:
            raise FieldError(column, row[at], f"{rule.target.name} needs at least one code")
        converted = [transform(c) if transform else c for c in codes]
        for code, raw in zip(converted, codes, strict=True):
            reason = area_code_reason(code)
            if reason is not None:
                raise FieldError(column, raw, reason)
        return converted

    return read


_SINGLE_COMPILERS: dict[FieldType, Callable[[FieldRule, str, int, frozenset[str]], FieldFn]] = {
    FieldType.CATEGORY: _compile_category,
    FieldType.AREA: _compile_area,
    FieldType.ID: _compile_text,
    FieldType.TEXT: _compile_text,
    FieldType.KEY: _compile_text,
    FieldType.FLOAT: _compile_number,
    FieldType.INT: _compile_number,
    FieldType.CODES: _compile_codes,
}


class RowErrors(ValueError):
    """All the field errors of one row."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _resolve_header(mapping: Mapping, header: Sequence[str]) -> dict[str, int]:
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicates:
        raise HeaderError(f"the header names these columns more than once: {duplicates}")
    index = {name: i for i, name in enumerate(names)}
    missing = [c for c in mapping.required_columns if c not in index]
    if missing:
        hints = []
        for column in missing:
            close = difflib.get_close_matches(column, names, n=1)
            hints.append(f"{column!r}" + (f" (the file has {close[0]!r})" if close else ""))
        raise HeaderError(
            f"the file lacks columns that mapping {mapping.name!r} reads: {', '.join(hints)}; "
            f"its header is: {', '.join(names)}"
        )
    return index
