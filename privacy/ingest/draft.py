"""Draft a first mapping for an export: guess the columns, the codes and the date format.

The draft is a starting point for an analyst, never a mapping to trust as it is: every
suggested code is marked ``# suggested``, and where the data do not settle a question (a
date that reads as month/day and as day/month) the draft says so instead of guessing. The
file is read once, row by row; distinct values are counted up to a cap.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from privacy import vocabulary as v
from privacy.ingest.check import is_number
from privacy.ingest.convert import EARLIEST_YEAR, LATEST_YEAR, slug, time_parser
from privacy.ingest.reader import CsvSource
from privacy.ingest.suggest import (
    COLUMN_WORDS,
    EASTING_WORDS,
    NORTHING_WORDS,
    column_word,
    suggest_code,
    suggest_vocabulary,
)
from privacy.schema import RECORD_KINDS, CanonicalField, FieldType, fields_of
from publishing.codes import is_area_code
from publishing.vocabularies import FAMILIES

# Distinct values counted per column; past this a column is "many-valued" and not listed.
DISTINCT_CAP = 1_000
# A categorical field's column with at most this many distinct values gets a value table.
CODED_MAX = 40
# Cells that mean "no value" in many exports; they are not held against a date or a number.
NULL_TOKENS = ("NA", "N/A", "NULL", "null", "(null)", "#N/A")
_NULLS = frozenset(NULL_TOKENS)
_INTEGER = re.compile(r"[+-]?\d+")
_UTC = ZoneInfo("UTC")

# Candidate formats, preferred first where two read every value the same way.
DATE_FORMATS = (
    "iso",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%y",
    "%d/%m/%y",
    "%m/%d/%y %H:%M",
    "%d/%m/%y %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%m-%d-%Y %H:%M",
    "%d-%m-%Y %H:%M",
    "%m-%d-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%b %d %Y",
    "%b %d, %Y",
    # A month alone (data.police.uk's street files): each record dated the month's first day.
    "%Y-%m",
    "%m/%Y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H%M")

# A format that fails on a few values still reads the column: those rows are bad data, not
# a sign of another format (a "13/45/2024" among thousands of dates).
FORMAT_FAILURES_KEPT = 5
FORMAT_FAILURE_SHARE = 0.01


class FormatTracker:
    """Which candidate formats read every value fed to it (or all but a few), and which of
    those pairs ever read a value differently."""

    def __init__(self, formats: Sequence[str], *, check_year: bool) -> None:
        self.live = list(formats)
        self._parsers = {fmt: time_parser(fmt, _UTC) for fmt in formats}
        self._check_year = check_year
        self.differ: dict[tuple[str, str], str] = {}  # pair -> a value read differently
        self.fed = 0
        self.failures: Counter[str] = Counter()
        self.failed_examples: dict[str, list[str]] = {}

    def _tolerated(self, fmt: str) -> bool:
        failed = self.failures[fmt]
        return failed == 0 or (
            failed <= max(FORMAT_FAILURES_KEPT, FORMAT_FAILURE_SHARE * self.fed)
            and failed < self.fed / 2
        )

    def feed(self, value: str) -> None:
        """Test one non-blank value against the formats still in the running."""
        if not self.live:
            return
        self.fed += 1
        readings = {}
        for fmt in self.live:
            try:
                moment = self._parsers[fmt](value)
            except ValueError:
                moment = None
            if moment is None or (
                self._check_year and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR
            ):
                self.failures[fmt] += 1
                examples = self.failed_examples.setdefault(fmt, [])
                if len(examples) < 3:
                    examples.append(value)
                continue
            readings[fmt] = moment
        if len(readings) != len(self.live):
            self.live = [fmt for fmt in self.live if fmt in readings or self._tolerated(fmt)]
        if len(readings) > 1:
            read = list(readings.items())
            for i, (a, first) in enumerate(read):
                for b, second in read[i + 1 :]:
                    if first != second and (a, b) not in self.differ:
                        self.differ[(a, b)] = value

    def readings(self) -> list[str]:
        """One format per distinct reading of the values (the preferred of those that read
        them alike, fewest failures first): one means the format is settled, two or more
        that it is not."""
        kept: list[str] = []
        ranked = sorted(
            (fmt for fmt in self.live if self._tolerated(fmt)), key=lambda f: self.failures[f]
        )
        for fmt in ranked:
            if all((rep, fmt) in self.differ or (fmt, rep) in self.differ for rep in kept):
                kept.append(fmt)
        return kept


@dataclass
class ColumnProfile:
    """What one column holds, built a value at a time."""

    name: str
    filled: int = 0
    blank: int = 0
    nulls: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] | None = field(default_factory=Counter)  # None past DISTINCT_CAP
    first_values: list[str] = field(default_factory=list)  # the first 50 distinct
    non_numeric: Counter[str] = field(default_factory=Counter)  # capped at CODED_MAX + 1
    with_time: int = 0
    all_int: bool = True
    all_number: bool = True
    dates: FormatTracker = field(
        default_factory=lambda: FormatTracker(DATE_FORMATS, check_year=True)
    )
    times: FormatTracker = field(
        default_factory=lambda: FormatTracker(TIME_FORMATS, check_year=False)
    )

    def add(self, raw: str) -> None:
        """Count one cell."""
        value = raw.strip()
        counts = self.counts
        if counts is not None:
            if value in counts or len(counts) < DISTINCT_CAP:
                if value not in counts and len(self.first_values) < 50:
                    self.first_values.append(value)
                counts[value] += 1
            else:
                self.counts = None
        if not value:
            self.blank += 1
            return
        if value in _NULLS:
            self.nulls[value] += 1
            return
        self.filled += 1
        if ":" in value:
            self.with_time += 1
        if self.all_int and not _INTEGER.fullmatch(value):
            self.all_int = False
        if self.all_number or len(self.non_numeric) <= CODED_MAX:
            try:
                number = float(value)
                finite = number == number and abs(number) != float("inf")
            except ValueError:
                finite = False
            if not finite:
                self.all_number = False
                if value in self.non_numeric or len(self.non_numeric) <= CODED_MAX:
                    self.non_numeric[value] += 1
        self.dates.feed(value)
        self.times.feed(value)

    @property
    def distinct(self) -> int | None:
        """Distinct values, or None when there are more than :data:`DISTINCT_CAP`."""
        return None if self.counts is None else len(self.counts)

    @property
    def kind(self) -> str:
        """empty, date/time, time, integer, number, coded or text."""
        if not self.filled:
            return "empty"
        packed_only = all("%" in f and not re.search(r"[^%A-Za-z]", f) for f in self.dates.live)
        if self.dates.live and not (self.all_int and packed_only):
            return "date/time"
        if self.times.live and not self.all_int:
            return "time"
        if self.all_int:
            return "integer"
        if self.all_number:
            return "number"
        distinct = self.distinct
        return "coded" if distinct is not None and distinct <= CODED_MAX else "text"

    def describe(self) -> str:
        """Its type and number of distinct values, for a comment."""
        distinct = self.distinct
        many = f"{DISTINCT_CAP:,}+" if distinct is None else f"{distinct:,}"
        text = f"{self.kind}, {many} distinct value{'' if distinct == 1 else 's'}"
        if self.blank:
            text += f", {self.blank:,} blank"
        if self.nulls:
            text += ", " + ", ".join(f"{n:,} {_quote(t)}" for t, n in self.nulls.items())
        return text


@dataclass
class IdCheck:
    """Whether a column's values are unique."""

    seen: set[str] = field(default_factory=set)
    repeated: set[str] = field(default_factory=set)
    extra_rows: int = 0

    def add(self, value: str) -> None:
        """Note one id."""
        value = value.strip()
        if value in self.seen:
            self.repeated.add(value)
            self.extra_rows += 1
        else:
            self.seen.add(value)


@dataclass
class FileProfile:
    """Every column's profile, the id candidates' uniqueness, and the rows counted."""

    header: list[str]
    columns: dict[str, ColumnProfile]
    ids: dict[str, IdCheck]
    rows: int = 0
    ragged: int = 0


def profile_rows(
    header: Sequence[str], rows: Iterable[Sequence[str]], id_columns: Sequence[str] = ()
) -> FileProfile:
    """Profile the rows of a file (one pass; rows whose width differs from the header's
    are counted and skipped)."""
    names = [h.strip() for h in header]
    profiles = [ColumnProfile(name) for name in names]
    ids = {name: IdCheck() for name in id_columns if name in names}
    id_at = [(names.index(name), check) for name, check in ids.items()]
    width = len(names)
    result = FileProfile(names, {p.name: p for p in profiles}, ids)
    for row in rows:
        if len(row) != width:
            result.ragged += 1
            continue
        result.rows += 1
        for profile, cell in zip(profiles, row, strict=True):
            profile.add(cell)
        for at, check in id_at:
            check.add(row[at])
    return result


def candidate_columns(kind: str, header: Sequence[str]) -> dict[str, list[tuple[str, bool]]]:
    """For each canonical field, the columns whose names suggest it, best first, each with
    whether the name matched exactly (else it only contains a suggestive word)."""
    words = {name.strip(): column_word(name) for name in header}
    found: dict[str, list[tuple[str, bool]]] = {}
    for target in fields_of(kind):
        options = (column_word(target.name), *COLUMN_WORDS.get(target.name, ()))
        exact = [c for w in options for c, cw in words.items() if cw == w]
        near = [
            c
            for w in options
            if len(w) >= 3
            for c, cw in words.items()
            if w in cw and c not in exact
        ]
        found[target.name] = [(c, True) for c in dict.fromkeys(exact)] + [
            (c, False) for c in dict.fromkeys(near)
        ]
    return found


@dataclass
class Draft:
    """A drafted mapping: its TOML text, what was guessed, and what needs a person."""

    text: str
    rows: int
    guesses: dict[str, tuple[str, ...]]
    date_format: str | None
    date_readings: list[str]
    repeated_ids: int
    extra_id_rows: int
    warnings: list[str]


def draft_mapping(
    kind: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    name: str,
    source: str,
    file_label: str = "the export",
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Draft:
    """Draft a mapping of ``kind`` for a file with this header and these rows."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"a draft is for one of {', '.join(RECORD_KINDS)}, not {kind!r}")
    candidates = candidate_columns(kind, header)
    # Only the likeliest id column is checked for repeats: that takes a set of every id.
    profile = profile_rows(header, rows, [c for c, _ in candidates["source_id"][:1]])
    writer = _Writer(kind, profile, candidates)
    return writer.write(
        name=name, source=source, file_label=file_label, encoding=encoding, delimiter=delimiter
    )


def draft_file(
    path: Path, kind: str, *, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[Draft, int]:
    """Draft a mapping for the file at ``path``; also return how many rows could not be
    read as data (wrong width, bytes not valid in the encoding)."""
    unreadable = 0
    with CsvSource(path, encoding=encoding, delimiter=delimiter) as source:

        def rows() -> Iterator[list[str]]:
            nonlocal unreadable
            for chunk in source.chunks(1_000):
                unreadable += len(chunk.problems)
                yield from chunk.rows

        stem = slug(path.stem) or "export"
        draft = draft_mapping(
            kind,
            source.header,
            rows(),
            name=f"{stem}-{kind}" if kind not in stem else stem,
            source=stem,
            file_label=source.name,
            encoding=encoding,
            delimiter=delimiter,
        )
    return draft, unreadable


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _quote(text: str) -> str:
    """A TOML basic string (lone surrogates cannot be written: see :func:`_writable`)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _writable(text: str) -> bool:
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _comment(text: str) -> str:
    """Text safe inside a TOML comment (one line, no control characters, no surrogates)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", "?", text)


class _Writer:
    """Writes the draft's lines, field by field."""

    def __init__(
        self, kind: str, profile: FileProfile, candidates: dict[str, list[tuple[str, bool]]]
    ) -> None:
        self.kind = kind
        self.profile = profile
        self.candidates = candidates
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.guesses: dict[str, tuple[str, ...]] = {}
        self.date_format: str | None = None
        self.date_readings: list[str] = []
        self.repeated_ids = 0
        self.extra_id_rows = 0

    def write(
        self, *, name: str, source: str, file_label: str, encoding: str, delimiter: str
    ) -> Draft:
        profile = self.profile
        nulls = sorted({t for p in profile.columns.values() for t in p.nulls})
        out = self.lines
        out += [
            f"# Draft {self.kind} mapping for {_comment(file_label)}, written by "
            "`portal mapping draft`",
            f"# from {profile.rows:,} rows. Review every line marked '# suggested' and every "
            "TODO, then run",
            "#   portal mapping check THIS_FILE.toml THE_EXPORT.csv",
            f"name = {_quote(name)}",
            f'kind = "{self.kind}"',
            f"source = {_quote(source)}             # TODO: the department; ids are unique "
            "per source",
            'description = "TODO: describe the export"',
            'timezone = "UTC"                # TODO: the department\'s IANA time zone, such as '
            '"America/Chicago"',
            f"encoding = {_quote(encoding)}",
            f"delimiter = {_quote(delimiter)}",
        ]
        if nulls:
            out.append(
                "null_values = ["
                + ", ".join(_quote(t) for t in ["", *nulls])
                + "]   # suggested: cells that mean no value in this file"
            )
        out += ["", "# The file's columns (type, distinct values):"]
        for column in profile.columns.values():
            out.append(f"#   {_comment(column.name)}: {column.describe()}")
        if profile.ragged:
            out.append(f"# {profile.ragged:,} rows have a different number of fields")
        for target in fields_of(self.kind):
            out.append("")
            self._field(target)
        return Draft(
            text="\n".join(out) + "\n",
            rows=profile.rows,
            guesses=self.guesses,
            date_format=self.date_format,
            date_readings=self.date_readings,
            repeated_ids=self.repeated_ids,
            extra_id_rows=self.extra_id_rows,
            warnings=self.warnings,
        )

    def _columns_for(self, target: CanonicalField) -> list[tuple[str, bool]]:
        found = self.candidates[target.name]
        if target.type is FieldType.DATETIME:
            dated = [(c, e) for c, e in found if self.profile.columns[c].kind == "date/time"]
            if not dated:  # any column that reads as dates, names with "date" first
                dated = [
                    (c, False) for c, p in self.profile.columns.items() if p.kind == "date/time"
                ]
                dated.sort(key=lambda item: "date" not in item[0].lower())
            return dated or found
        return found

    def _field(self, target: CanonicalField) -> None:
        out = self.lines
        found = self._columns_for(target)
        header = f"[fields.{target.name}]"
        if not found and target.name == "source_id":
            out += [
                header,
                "from_line = true   # suggested: no id column found, so each record's id is the "
                "file's name and its line (never edit a file once loaded); name the id column "
                "instead if there is one",
            ]
            return
        point = self._projected_point() if not found and target.name in ("lat", "lng") else None
        if point is not None:
            out += [
                header,
                f"columns = [{_quote(point[0])}, {_quote(point[1])}]   # suggested: a point in "
                "a projection (feet or metres), easting then northing",
                'projection = "EPSG:CHOOSE"      # TODO: its system\'s EPSG code (a state '
                "plane's, say), the same in [fields.lat] and [fields.lng]",
            ]
            if target.name == "lat":
                self.warnings.append(
                    f"{point[0]} and {point[1]} look like coordinates in a projection: name "
                    "its EPSG code in [fields.lat] and [fields.lng]"
                )
            return
        if not found:
            why = "required: find its column" if target.required else "left out: unknown or empty"
            out += [f"# {header}   # no column found ({why})", '# column = "..."']
            if target.required:
                self.warnings.append(f"no column found for {target.name}, which is required")
            return
        column, exact = found[0]
        columns = [column]
        if target.vocabulary == v.FLAG:  # several yes/no columns: yes if any says yes
            columns = [c for c, e in found if e] or [column]
        time_column = None
        if target.type is FieldType.DATETIME:
            time_column = self._time_column(column)
            columns += [time_column] if time_column else []
        self.guesses[target.name] = tuple(columns)
        out.append(header)
        if time_column is not None:
            out.append(
                f"columns = [{_quote(column)}, {_quote(time_column)}]   # suggested: the date "
                "and the time, joined with a space"
            )
        elif len(columns) > 1:
            out.append("columns = [" + ", ".join(_quote(c) for c in columns) + "]")
            out.append('combine = "any"                 # suggested: yes if any column says yes')
        else:
            note = "" if exact else "   # suggested: only the name is similar"
            out.append(f"column = {_quote(column)}{note}")
        for c in columns:
            out.append(f"# {_comment(c)}: {self.profile.columns[c].describe()}")
        others = [c for c, _ in found if c not in columns]
        if others:
            out.append("# other candidates: " + ", ".join(_comment(c) for c in others))
        if target.type is FieldType.ID:
            self._id(column)
        elif target.type in (FieldType.DATETIME, FieldType.DATE):
            self._date(column, time_column)
        elif target.type is FieldType.CATEGORY:
            self._category(target, columns)
        elif target.type is FieldType.AREA:
            self._area(column)
        elif target.type in (FieldType.FLOAT, FieldType.INT) and self.profile.columns[
            column
        ].kind not in ("integer", "number", "empty"):
            out.append("# TODO: not every value is a number (see the check)")

    def _projected_point(self) -> tuple[str, str] | None:
        """An easting and a northing column whose numbers are too large to be degrees."""
        columns = self.profile.columns

        def first(words: tuple[str, ...]) -> str | None:
            for name, profile in columns.items():
                named = column_word(name) in words and profile.kind in ("integer", "number")
                if named and any(abs(float(x)) > 180 for x in profile.first_values if is_number(x)):
                    return name
            return None

        easting, northing = first(EASTING_WORDS), first(NORTHING_WORDS)
        return None if easting is None or northing is None else (easting, northing)

    def _id(self, column: str) -> None:
        check = self.profile.ids.get(column)
        if check is None:
            return
        self.repeated_ids = len(check.repeated)
        self.extra_id_rows = check.extra_rows
        if check.repeated:
            examples = ", ".join(_quote(x) for x in sorted(check.repeated)[:3])
            n = len(check.repeated)
            message = (
                f"{_plural(n, 'id')} of {column!r} repeat{'s' if n == 1 else ''} "
                f"({_plural(check.extra_rows, 'extra row')}; for example {examples}): "
                "an ingest refuses a file with repeated ids"
            )
            self.lines.append(f"# TODO: {_comment(message)}")
            self.warnings.append(message)
        else:
            self.lines.append(f"# every id is unique ({len(check.seen):,} ids)")

    def _date(self, column: str, time_column: str | None) -> None:
        out = self.lines
        profile = self.profile.columns[column]
        readings = profile.dates.readings()
        if not profile.filled:
            out.append('format = "iso"                  # TODO: no dates to read a format from')
            self.warnings.append(f"{column!r} holds no dates to read a format from")
            return
        if not readings:
            samples = ", ".join(_quote(x) for x in profile.first_values[:3])
            out.append(f"# TODO: no candidate format reads every value (for example {samples})")
            out.append('format = "iso"                  # TODO: a strptime pattern')
            self.warnings.append(f"no date format reads every value of {column!r}")
            return
        if len(readings) > 1:
            self.date_readings = readings
            pairs = profile.dates.differ
            out.append("# TODO: the dates read more than one way; choose the format:")
            for fmt in readings:
                example = next((x for (a, b), x in pairs.items() if fmt in (a, b)), "")
                reading = _reading(fmt, example)
                out.append(f'#   format = "{fmt}"    # {_quote(example)} is {reading}')
            choice = " or ".join(readings)
            out.append(f'format = "CHOOSE ONE: {choice}"')
            self.warnings.append(
                f"the dates of {column!r} read as {choice}: the draft does not guess; "
                "choose the format in the mapping"
            )
            return
        fmt = readings[0]
        failed = profile.dates.failures[fmt]
        if time_column is not None and fmt != "iso":
            fmt += " " + self.profile.columns[time_column].times.readings()[0]
        self.date_format = fmt
        if failed:
            bad = ", ".join(_quote(x) for x in profile.dates.failed_examples[readings[0]])
            out.append(f"format = {_quote(fmt)}   # reads all but {failed:,} values")
            out.append(f"# TODO: {failed:,} values are not dates ({bad}): those rows are rejected")
            self.warnings.append(
                f"{failed:,} values of {column!r} are not dates in {fmt!r} (for example {bad})"
            )
        else:
            out.append(f"format = {_quote(fmt)}   # reads every value")

    def _time_column(self, date_column: str) -> str | None:
        """A column of times beside a column of dates alone, if there is one."""
        readings = self.profile.columns[date_column].dates.readings()
        if len(readings) != 1 or self.profile.columns[date_column].with_time:
            return None
        fmt = readings[0]
        if "%H" in fmt or "%I" in fmt:
            return None
        for name, column in self.profile.columns.items():
            if column.kind != "time" or "time" not in name.lower():
                continue
            times = column.times.readings()
            if len(times) == 1 and (fmt != "iso" or times[0] in ("%H:%M:%S", "%H:%M")):
                return name
        return None

    def _category(self, target: CanonicalField, columns: list[str]) -> None:
        out = self.lines
        profiles = [self.profile.columns[c] for c in columns]
        if target.name == "subject_age_band" and all(_mostly_ages(p) for p in profiles):
            out.append('numeric = "age_band"            # suggested: ages become age bands')
            counts: Counter[str] = Counter()
            for p in profiles:
                counts.update({x: n for x, n in p.non_numeric.items()})
                counts.update(p.nulls)
                if p.blank:
                    counts[""] += p.blank
            self._values(target, counts)
            return
        total: Counter[str] = Counter()
        for p in profiles:
            total.update(p.counts or {})
        if (
            target.name == "subject_age_band"
            and all(p.counts for p in profiles)
            and all(_is_age_range(x) for p in profiles for x in p.counts or () if x not in _NULLS)
            # data.police.uk's ranges are a vocabulary of their own, not US bands
            and suggest_vocabulary(target.name, total)[0] is FAMILIES[target.name][0]
        ):
            out.append(
                'numeric = "age_range"           # suggested: declared ranges become bands; '
                "map any range that straddles two bands in values"
            )
            unread: Counter[str] = Counter()
            for p in profiles:
                unread.update(p.nulls)
                if p.blank:
                    unread[""] += p.blank
            self._values(target, unread)
            return
        total = Counter()
        for p in profiles:
            if p.counts is None or len(p.counts) > CODED_MAX:
                many = f"{DISTINCT_CAP:,}+" if p.counts is None else f"{len(p.counts):,}"
                out.append(
                    f"# TODO: {_comment(p.name)} has {many} distinct values, too many to list: "
                    'map the common ones in values and set fallback = "other" or "unknown"'
                )
                return
            total.update(p.counts)
        self._values(target, total)

    def _values(self, target: CanonicalField, counts: Counter[str]) -> None:
        if not counts:
            return
        out = self.lines
        ranked = suggest_vocabulary(target.name, counts)
        if ranked and ranked[0] is not FAMILIES[target.name][0]:
            out.append(
                f'vocabulary = "{ranked[0].name}"  # suggested: the values are its codes '
                f"or name them ({ranked[0].title})"
            )
            target = target.using(ranked[0].name)
        elif len(ranked) > 1:
            others = ", ".join(f'"{other.name}" ({other.title})' for other in ranked[1:])
            out.append(f"# the default vocabulary; a department may declare vocabulary = {others}")
        out.append(f"[fields.{target.name}.values]")
        skipped = 0
        rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        keys = [_quote(value) for value, _ in rows]
        width = max(len(k) for k in keys) + len(' = "asian_pacific_islander"')
        for (value, n), key in zip(rows, keys, strict=True):
            if not _writable(value):
                skipped += 1
                continue
            line = f'{key} = "{suggest_code(value, target.vocabulary)}"'
            blank = " (blank)" if not value else ""
            out.append(f"{line:<{width}}  # suggested; {n:,} row{'' if n == 1 else 's'}{blank}")
        if skipped:
            out.append(f"# {skipped} values with bytes not valid in the encoding are not listed")

    def _area(self, column: str) -> None:
        out = self.lines
        profile = self.profile.columns[column]
        shown = [x for x in profile.first_values if x and x not in _NULLS]
        odd = [x for x in shown if not is_area_code(x)]
        if odd:
            example = odd[0]
            out.append(
                f'transform = "slug"              # suggested: {_comment(_quote(example))} is '
                f"not an area code; slug makes it {_quote(slug(example))}"
            )
        if profile.blank or profile.nulls:
            out.append('fallback = "unknown"            # suggested: for the blank cells')


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _reading(fmt: str, example: str) -> str:
    try:
        moment = time_parser(fmt, _UTC)(example)
    except ValueError:
        return "unreadable"
    return moment.isoformat(" ") if moment.time() != moment.min.time() else str(moment.date())


# A column of ages may hold a few values that are not numbers ("abc", "unknown"): they are
# listed in values, and the column is still read as ages.
AGES_NOT_NUMBERS_SHARE = 0.05


def _mostly_ages(profile: ColumnProfile) -> bool:
    """Whether a column holds numbers but for a few values."""
    if profile.kind in ("integer", "number"):
        return True
    odd = sum(profile.non_numeric.values())
    return (
        bool(profile.filled)
        and len(profile.non_numeric) <= CODED_MAX
        and (odd <= AGES_NOT_NUMBERS_SHARE * profile.filled)
    )


def _is_age_range(text: str) -> bool:
    """Whether ``text`` is a declared age range ("18-24", "over 34", "65+")."""
    try:
        v.age_range_band(text)
    except v.StraddlingRange:
        return True
    except ValueError:
        return text.strip() == ""
    return True
