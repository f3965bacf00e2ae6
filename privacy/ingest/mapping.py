"""Mapping files: how a source's columns and codes reach the canonical schema.

A mapping is a TOML file (format in the README). Onboarding a department means writing one,
not code. Shipped mappings live in ``privacy/mappings/NAME.toml`` and are found by name.
Its keys and their types are declared in :mod:`privacy.ingest.mapping_schema`; this module
checks what only code can.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from privacy import vocabulary as v
from privacy.ingest.coordinates import ProjectionError, projection
from privacy.ingest.mapping_schema import (
    AreaDocument,
    FieldDocument,
    MappingDocument,
)
from privacy.ingest.reader import CsvSource
from privacy.ingest.safety import holds_area_code, unstorable
from privacy.schema import KINDS, RECORD_KINDS, CanonicalField, FieldType, fields_of
from privacy.shipped import resolve_toml, shipped_names
from publishing.codes import AREA_CODE_RULE, is_area_code
from publishing.documents import read_document
from publishing.vocabularies import US_AGE_BANDS, VocabularyError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "mappings"
TRANSFORMS = ("slug", "lower", "upper", "strip-zeros", "zero-pad-6", "zero-pad-8")
COMBINES = ("any", "most_severe", "first")  # for coded fields read from several columns
JOIN = "join"  # for an id or text read from several columns: joined with ``separator``
# For a number read from several columns: their product, rounded for a whole number (a
# group's share of an area's residents times its residents).
PRODUCT = "product"
DUPLICATES = ("error", "first")
TAKES = ("date", "time", "all")  # the part of a cell a time field takes
NUMERIC = ("age_band", "age_range")  # a numeric age, or a declared range such as "18-24"


class MappingError(ValueError):
    """A mapping file that cannot be used, with a message that says what to fix."""


@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is read from a source row."""

    target: CanonicalField
    columns: tuple[str, ...] = ()
    constant: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    fallback: str | None = None
    format: str = "iso"
    transform: str | None = None
    combine: str | None = None
    numeric: str | None = None
    separator: str = ";"
    # Per-column value tables, for a coded field read from several columns (an arrest flag
    # and a summons flag, each Y or N): column -> source value -> canonical code.
    column_values: dict[str, dict[str, str]] = field(default_factory=dict)
    # For a time read from a date column and a time column that both carry a date and a
    # time ("2014-01-05 00:00:00" and "1899-12-30 09:05:00"): the part each one gives.
    take: tuple[str, ...] = ()
    parent_of: str | None = None  # "beat": the district is the declared parent of the beat
    from_line: bool = False  # an id made of the file's name and the row's line
    # For lat and lng read from an easting and a northing column: their projected system.
    projection: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A validated mapping: one rule per canonical field of its kind."""

    name: str
    kind: str
    source: str
    description: str
    encoding: str
    delimiter: str
    timezone: ZoneInfo
    max_field_length: int
    null_values: frozenset[str]
    rules: tuple[FieldRule, ...]
    extra_areas: tuple[dict[str, str], ...]
    sha256: str
    # What to do with an id that repeats in a file: "error" rejects every row carrying it;
    # "first" keeps the first row and leaves the later ones out (a file that repeats a stop
    # once per weapon found, say), saying how many.
    duplicates: str = "error"
    # Each declared beat's district, filled in at ingest from the public areas, for a
    # district read as the parent of the beat (``parent_of = "beat"``).
    beat_districts: dict[str, str] = field(default_factory=dict)

    def open(self, path: Path) -> CsvSource:
        """``path`` opened for streaming as the mapping declares its files to be written."""
        return CsvSource(
            path,
            encoding=self.encoding,
            delimiter=self.delimiter,
            max_field_length=self.max_field_length,
        )

    # Layouts the export has had: (the columns a header must have, the mapping for it).
    variants: tuple[tuple[tuple[str, ...], Mapping], ...] = ()
    # Layouts that changed on a date within the files: (the first day, the mapping for the
    # rows from that day on), earliest first; earlier rows are read with this mapping.
    dated: tuple[tuple[date, Mapping], ...] = ()
    variant: str = ""  # the variant's name, for a mapping that is one

    def for_header(self, header: Sequence[str]) -> Mapping:
        """The mapping for a file with ``header``: the first variant whose columns the
        header has all of, or this mapping."""
        names = {h.strip() for h in header}
        for columns, variant in self.variants:
            if set(columns) <= names:
                return variant
        return self

    @property
    def layouts(self) -> tuple[Mapping, ...]:
        """This mapping and each of its variants: every way it reads a row."""
        return (self, *(m for _, m in self.variants), *(m for _, m in self.dated))

    @property
    def district_from_beat(self) -> bool:
        """Whether some layout takes the district from the beat's declared parent."""
        return any(rule.parent_of == "beat" for layout in self.layouts for rule in layout.rules)

    def with_beat_districts(self, parents: dict[str, str]) -> Mapping:
        """This mapping, and each of its variants, with each declared beat's district."""
        return replace(
            self,
            beat_districts=parents,
            variants=tuple((c, m.with_beat_districts(parents)) for c, m in self.variants),
            dated=tuple((d, m.with_beat_districts(parents)) for d, m in self.dated),
        )

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every source column some rule reads, in first-use order."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            for column in rule.columns:
                seen.setdefault(column, None)
        return tuple(seen)


def date_detail(rule: FieldRule) -> str:
    """What a time field's values say, as far as its format tells: ``month`` (a month
    alone), ``day`` (a date without a time) or ``time``."""
    if rule.format == "iso":
        return "time"  # ISO values may or may not carry a time: assume they do
    formats = " ".join((rule.format, *rule.take))
    if not any(code in formats for code in ("%d", "%j", "date", "all")):
        return "month"
    if not any(code in formats for code in ("%H", "%I", "time", "all")):
        return "day"
    return "time"


def load_mapping(name_or_path: str | Path) -> Mapping:
    """Load a shipped mapping by name (``minneapolis-stops``) or a mapping file by path."""
    path = resolve_toml(name_or_path, SHIPPED_DIR)
    if path is None:
        raise MappingError(
            f"no mapping named {name_or_path!r}; shipped mappings are: "
            + ", ".join(shipped_mapping_names())
            + " (or pass the path of a .toml file)"
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise MappingError(f"cannot read mapping file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"mapping file {path} is not valid TOML: {error}") from None
    digest = hashlib.sha256(raw)
    document = _read_lookup_files(document, path, digest)
    return parse_mapping(document, sha256=digest.hexdigest(), origin=str(path))


Variants = tuple[tuple[tuple[str, ...], Mapping], ...]
Dated = tuple[tuple[date, Mapping], ...]


def _variants(
    document: dict[str, Any], declared: MappingDocument, sha256: str, origin: str, fail: Any
) -> tuple[Variants, Dated]:
    """Each ``[[variants]]`` entry: a name, what tells its rows apart (the columns of its
    files' header, ``when_header_has``, or the first day of its rows, ``from_date``), and
    the fields it reads differently (each replaces the base mapping's rule for that field
    whole). Returns the header variants and the dated ones, earliest first."""
    by_header: list[tuple[tuple[str, ...], Mapping]] = []
    by_date: dict[date, Mapping] = {}
    raw_variants = document.get("variants", [])
    for number, (entry, raw) in enumerate(zip(declared.variants, raw_variants, strict=True), 1):
        where = f"[[variants]] {number}"
        if not entry.name.strip():
            raise fail(f"{where} needs a name")
        named = f"{where} ({entry.name})"
        if bool(entry.when_header_has) == (entry.from_date is not None):
            raise fail(
                f"{named} needs one of when_header_has = [the columns its files have] or "
                "from_date = YYYY-MM-DD (the first day its layout was used), not both"
            )
        fields = raw.get("fields", {})
        if entry.from_date is not None:
            if declared.kind not in RECORD_KINDS:
                raise fail(f"{named}: only records have dates; use when_header_has")
            if "occurred_at" in fields:
                raise fail(
                    f"{named}: a variant chosen by date cannot read the date another way "
                    "(the date says which layout reads the row); remove its "
                    "[variants.fields.occurred_at], or tell the files apart by their "
                    "header with when_header_has"
                )
            if entry.from_date in by_date:
                raise fail(f"{named}: another variant also starts on {entry.from_date}")
        base = {k: v for k, v in document.items() if k != "variants"}
        merged = {**base, "fields": {**base.get("fields", {}), **fields}}
        variant = parse_mapping(merged, sha256=sha256, origin=f"{origin} ({entry.name})")
        variant = replace(variant, variant=entry.name)
        if entry.from_date is None:
            by_header.append((tuple(entry.when_header_has), variant))
        else:
            by_date[entry.from_date] = variant
    if by_header and by_date:
        raise fail(
            "variants are told apart either by header (when_header_has) or by date "
            "(from_date), not both in one mapping; write a mapping for each layout of header"
        )
    return tuple(by_header), tuple(sorted(by_date.items()))


def _read_lookup_files(document: dict[str, Any], path: Path, digest: Any) -> dict[str, Any]:
    """Each ``values_file = "codes.csv"`` (a CSV of source value and canonical code, beside
    the mapping) read into its field's ``values``; values written in the mapping win. The
    files' bytes join the mapping's SHA-256, so a batch records what it was read with."""

    def with_tables(table: Any) -> Any:
        if not isinstance(table, dict) or "fields" not in table:
            return table
        return {**table, "fields": _lookups(table["fields"], path, digest)}

    resolved = with_tables(document)
    if isinstance(resolved.get("variants"), list):
        resolved["variants"] = [with_tables(v) for v in resolved["variants"]]
    return dict(resolved)


def _lookups(fields: Any, path: Path, digest: Any) -> Any:
    """``fields`` with each ``values_file`` read into its ``values``."""
    if not isinstance(fields, dict):
        return fields
    resolved = {}
    for name, spec in fields.items():
        if not isinstance(spec, dict) or "values_file" not in spec:
            resolved[name] = spec
            continue
        where = f"{path}: [fields.{name}] values_file"
        lookup = path.parent / str(spec["values_file"])
        try:
            raw = lookup.read_bytes()
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        except (OSError, UnicodeDecodeError) as error:
            raise MappingError(f"{where}: cannot read {lookup}: {error}") from None
        digest.update(raw)
        table: dict[str, str] = {}
        for number, row in enumerate(rows[1:], start=2):  # the first line is a header
            if len(row) != 2:
                raise MappingError(
                    f"{where}: line {number} of {lookup.name} has {len(row)} cells; each line "
                    "is a source value and its canonical code"
                )
            value, code = row[0].strip(), row[1].strip()
            if table.get(value, code) != code:
                raise MappingError(
                    f"{where}: {value!r} is mapped twice in {lookup.name}, to "
                    f"{table[value]!r} and {code!r}"
                )
            table[value] = code
        rest = {k: v for k, v in spec.items() if k != "values_file"}
        rest["values"] = {**table, **rest.get("values", {})}
        resolved[name] = rest
    return resolved


def shipped_mapping_names() -> list[str]:
    """Names of the mappings that ship with the portal."""
    return shipped_names(SHIPPED_DIR)


def parse_mapping(
    document: dict[str, Any], *, sha256: str = "", origin: str = "<mapping>"
) -> Mapping:
    """Validate a parsed TOML document and turn it into a :class:`Mapping`."""

    def fail(message: str) -> MappingError:
        return MappingError(f"{origin}: {message}")

    declared = read_document(document, MappingDocument, fail)
    variants, dated = _variants(document, declared, sha256, origin, fail)
    kind = declared.kind
    if kind not in KINDS:
        raise fail(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    for key, given in (("name", declared.name), ("source", declared.source)):
        if not given.strip():
            raise fail(f"'{key}' is required and must be a non-empty string")
    try:
        timezone = ZoneInfo(declared.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            f"unknown time zone {declared.timezone!r} (use an IANA name such as 'America/Chicago')"
        ) from None
    encoding = declared.encoding
    try:
        "".encode(encoding)
    except LookupError:
        raise fail(f"unknown encoding {encoding!r}") from None
    delimiter = declared.delimiter
    if len(delimiter) != 1:
        raise fail(f"'delimiter' must be one character, not {delimiter!r}")
    if declared.max_field_length < 1:
        raise fail("'max_field_length' must be a positive integer")
    duplicates = declared.duplicates
    if duplicates not in DUPLICATES:
        raise fail(f"'duplicates' must be one of {', '.join(DUPLICATES)}, not {duplicates!r}")
    field_specs = declared.fields
    targets = {f.name: f for f in fields_of(kind)}
    stray = set(field_specs) - set(targets)
    if stray:
        raise fail(
            f"fields {sorted(stray)} are not in the canonical {kind} schema; "
            f"its fields are: {', '.join(targets)}"
        )
    rules = tuple(
        _parse_rule(target, field_specs.get(target.name), fail, holds_area_code(kind, target))
        for target in targets.values()
    )
    if kind in RECORD_KINDS:
        _check_coordinates(rules, fail)
    if declared.extra_areas and kind != "areas":
        raise fail("'extra_areas' is only allowed in an areas mapping")
    for number, area in enumerate(declared.extra_areas, start=1):
        _check_extra_area(number, area, fail)
    return Mapping(
        name=declared.name,
        kind=kind,
        source=declared.source,
        description=declared.description,
        encoding=encoding,
        delimiter=delimiter,
        timezone=timezone,
        max_field_length=declared.max_field_length,
        null_values=frozenset(declared.null_values),
        rules=rules,
        extra_areas=tuple(
            {k: v for k, v in msgspec.structs.asdict(area).items() if v is not None}
            for area in declared.extra_areas
        ),
        sha256=sha256,
        duplicates=str(duplicates),
        variants=variants,
        dated=dated,
    )


def _check_extra_area(number: int, area: AreaDocument, fail: Any) -> None:
    where = f"extra_areas entry {number}"
    if area.level not in v.AREA_LEVEL:
        raise fail(f"{where}: level {area.level!r} is not one of: {', '.join(v.AREA_LEVEL)}")
    for key, code in (("code", area.code), ("parent", area.parent)):
        if code is not None and not is_area_code(code):
            raise fail(f"{where}: {key} {code!r} is not a valid area code: {AREA_CODE_RULE}")
    if unstorable(area.name):
        raise fail(f"{where}: name {area.name!r} holds a NUL or a lone surrogate")


def _check_outputs(where: str, outputs: list[tuple[str, str]], area_codes: bool, fail: Any) -> None:
    """The mapping's own values reach the store as they are: they must be storable, and
    area codes where the field holds area codes."""
    for label, output in outputs:
        if area_codes and not is_area_code(output):
            raise fail(
                f"{where} {label} {output!r}, which is not a valid area code: {AREA_CODE_RULE}"
            )
        if unstorable(output):
            raise fail(f"{where} {label} {output!r}, which holds a NUL or a lone surrogate")


def _column_values(
    where: str,
    raw: dict[str, dict[str, str]],
    columns: tuple[str, ...],
    target: CanonicalField,
    fail: Any,
) -> dict[str, dict[str, str]]:
    """Per-column value tables: each names a column the rule reads, and maps to codes of
    the field's vocabulary."""
    tables: dict[str, dict[str, str]] = {}
    for column, table in raw.items():
        if column not in columns:
            raise fail(
                f"{where} column_values names {column!r}, which the rule does not read "
                f"(it reads {', '.join(columns) or 'no column'})"
            )
        tables[str(column)] = dict(table)
        for source_value, code in tables[str(column)].items():
            if target.vocabulary and code not in target.vocabulary:
                raise fail(
                    f"{where} column_values.{column} maps {source_value!r} to {code!r}, which "
                    "is not one of: " + ", ".join(target.vocabulary)
                )
    return tables


def _parse_rule(
    target: CanonicalField, spec: FieldDocument | None, fail: Any, area_codes: bool
) -> FieldRule:
    where = f"[fields.{target.name}]"
    if spec is None:
        if target.required:
            raise fail(f"{where} is required: the {target.name} field has no default")
        return FieldRule(target=target)
    if spec.vocabulary is not None:
        try:
            target = target.using(spec.vocabulary)
        except VocabularyError as error:
            raise fail(f"{where} {error}") from None
    given = {
        "column": spec.column,
        "columns": spec.columns,
        "value": spec.value,
        "parent_of": spec.parent_of,
        "from_line": spec.from_line,
    }
    sources = [key for key, value in given.items() if value is not None]
    if len(sources) != 1:
        raise fail(
            f"{where} needs exactly one of 'column', 'columns', 'value', 'parent_of' or 'from_line'"
        )
    from_line = spec.from_line
    if from_line is not None and (from_line is not True or target.name != "source_id"):
        raise fail(
            f"{where} from_line = true is for the source_id of a file without ids (the id "
            "is the file's name and the row's line)"
        )
    parent_of = spec.parent_of
    if parent_of is not None and (parent_of != "beat" or target.name != "district"):
        raise fail(f'{where} parent_of = "beat" is the only parent rule (for the district)')
    columns: tuple[str, ...] = ()
    if spec.column is not None:
        columns = (spec.column,)
    elif spec.columns is not None:
        columns = tuple(spec.columns)
        if not columns:
            raise fail(f"{where} 'columns' must name at least one column")
    values = dict(spec.values)
    vocabulary = target.vocabulary
    if vocabulary:
        for source_value, code in values.items():
            if code not in vocabulary:
                raise fail(
                    f"{where} maps {source_value!r} to {code!r}, which is not one of: "
                    + ", ".join(vocabulary)
                )
    constant = spec.value
    if constant is not None and vocabulary and str(constant) not in vocabulary:
        raise fail(f"{where} value {constant!r} is not one of: {', '.join(vocabulary)}")
    fallback = spec.fallback
    if fallback is not None and vocabulary and fallback not in vocabulary:
        raise fail(f"{where} fallback {fallback!r} is not one of: {', '.join(vocabulary)}")
    transform = spec.transform
    if transform is not None and transform not in TRANSFORMS:
        raise fail(f"{where} transform {transform!r} is not one of: {', '.join(TRANSFORMS)}")
    _check_format(where, spec.format, fail)
    projection = _projection(where, spec.projection, target, columns, fail)
    combine = spec.combine
    several = (
        len(columns) > 1
        and target.type not in (FieldType.DATETIME, FieldType.DATE)
        and projection is None
    )
    textual = target.type in (FieldType.ID, FieldType.TEXT)
    numeric_target = target.type in (FieldType.INT, FieldType.FLOAT)
    allowed = (JOIN,) if textual else (PRODUCT,) if numeric_target else COMBINES
    if several and combine not in allowed:
        raise fail(
            f"{where} reads several columns, so it needs combine = one of " + ", ".join(allowed)
        )
    separator = spec.separator if spec.separator is not None else "-" if combine == JOIN else ";"
    take = spec.take
    if take and (
        target.type not in (FieldType.DATETIME, FieldType.DATE)
        or len(take) != len(columns)
        or any(part not in TAKES for part in take)
    ):
        raise fail(
            f"{where} take must list, for each of its columns, the part it gives: one of "
            + ", ".join(TAKES)
            + ' (take = ["date", "time"] for a date column and a time column)'
        )
    column_values = _column_values(where, spec.column_values, columns, target, fail)
    numeric = spec.numeric
    if numeric is not None and (numeric not in NUMERIC or target.name != "subject_age_band"):
        raise fail(f"{where} numeric = one of {', '.join(NUMERIC)} is for subject_age_band only")
    if numeric is not None and target.declared not in (None, US_AGE_BANDS.name):
        raise fail(
            f"{where} numeric computes the {US_AGE_BANDS.name} bands; with the vocabulary "
            f"{target.declared!r}, map each of the export's ranges with 'values'"
        )
    outputs = [(f"maps {k!r} to", code) for k, code in values.items()]
    outputs += [
        (f"maps {k!r} of {column!r} to", code)
        for column, table in column_values.items()
        for k, code in table.items()
    ]
    outputs += [("value", str(constant))] if constant is not None else []
    outputs += [("fallback", str(fallback))] if fallback is not None else []
    _check_outputs(where, outputs, area_codes, fail)
    return FieldRule(
        target=target,
        columns=columns,
        constant=None if constant is None else str(constant),
        values=values,
        fallback=None if fallback is None else str(fallback),
        format=spec.format,
        transform=transform,
        combine=combine,
        numeric=numeric,
        separator=separator,
        column_values=column_values,
        take=tuple(take),
        parent_of=None if parent_of is None else str(parent_of),
        from_line=bool(from_line),
        projection=projection,
    )


COORDINATES = ("lat", "lng")


def _check_format(where: str, fmt: str, fail: Any) -> None:
    """A date format strptime can use (a draft's "CHOOSE ONE: ..." is not one)."""
    if fmt == "iso":
        return
    if fmt.startswith("CHOOSE ONE:"):
        raise fail(
            f"{where} format is still the draft's choice, {fmt!r}: keep the one format that "
            "reads the export's dates as the department wrote them"
        )
    try:
        datetime.strptime("", fmt)
    except ValueError:
        return  # the format compiles; an empty text does not match it, as expected
    except re.error as error:
        raise fail(f"{where} format {fmt!r} is not a date format: {error.msg}") from None


def _projection(
    where: str, code: str | None, target: CanonicalField, columns: tuple[str, ...], fail: Any
) -> str | None:
    """A rule's projection, checked: lat and lng read from an easting and a northing
    column, in a system PROJ knows."""
    if code is None:
        return None
    if target.name not in COORDINATES or len(columns) != 2:
        raise fail(
            f"{where} projection is for lat and lng read from two columns, the easting "
            'then the northing: columns = ["X_COORD", "Y_COORD"] and projection = '
            '"EPSG:2249"'
        )
    try:
        projection(code)
    except ProjectionError as error:
        raise fail(f"{where} {error}") from None
    return code


def _check_coordinates(rules: tuple[FieldRule, ...], fail: Any) -> None:
    """Projected coordinates give lat and lng together: both rules read the same columns
    in the same system."""
    lat, lng = (next(r for r in rules if r.target.name == name) for name in COORDINATES)
    if lat.projection is None and lng.projection is None:
        return
    if (lat.columns, lat.projection) != (lng.columns, lng.projection):
        raise fail(
            "[fields.lat] and [fields.lng] read one point: with a projection, both need the "
            "same columns (the easting, then the northing) and the same projection"
        )
