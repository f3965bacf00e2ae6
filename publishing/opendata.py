"""Open data: a release's tables as CSV and JSON, a data dictionary, and a Frictionless
Data Package (``datapackage.json``) that describes them.

Everything here reads published numbers only (value, 95% interval, standard error), never
the raw noisy measurements, and every output is deterministic byte for byte: the same
release always gives the same files, so they can be written once and cached.

Every column of every table is described in plain English. A dimension this module has no
words for is an error (:class:`UndescribedColumn`), not a silent gap: an undocumented column
in public data is worse than a failed export.

Every CSV here is written by :mod:`publishing.csvfiles`: a text cell that a spreadsheet
would run as a formula gets a leading ``'`` (OWASP's rule against CSV injection), chosen
by the column's declared type, so numbers, even negative ones, stay numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import msgspec

from publishing.area_list import COLUMNS as AREA_COLUMNS
from publishing.area_list import areas_csv
from publishing.catalog import AreaInfo, ReleaseInfo
from publishing.csvfiles import TEXT, csv_bytes
from publishing.i18n import N_, _
from publishing.labels import label
from publishing.public_forms import SIGNIFICANT_DIGITS, measures, table_metadata
from publishing.releases import PublishedCell, PublishedTable
from publishing.vocabularies import FAMILIES, Vocabulary, declared

MEASURES: Final = ("value", "ci_low", "ci_high", "std_error", "estimate")
"""The columns after a table's dimensions, in every CSV."""

LICENSE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "name": "ODC-PDDL-1.0",
        "path": "https://opendatacommons.org/licenses/pddl/",
        "title": "Open Data Commons Public Domain Dedication and License v1.0",
    }
)

_UNKNOWN = "`unknown` where the record did not say or its code was not recognised."

DIMENSION_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "month": "Calendar month, YYYY-MM (local time of the record).",
        "quarter": "Calendar quarter, YYYYQN: 2025Q3 is July to September 2025.",
        "district": (
            "District code; `unknown` where the record's district was not recorded or "
            "not a declared district. Each code's name is in the portal's area list "
            "(/areas.csv, /api/v1/areas)."
        ),
        "beat": (
            "Beat code (a beat lies within one district); `unknown` where the record's beat "
            "was not recorded or not a declared beat. Each code's name and district are "
            "in the portal's area list (/areas.csv, /api/v1/areas)."
        ),
        "subject_sex": "Sex of the person, as recorded: female, male, other; " + _UNKNOWN,
        "stop_type": "Kind of stop: vehicular, pedestrian, other; " + _UNKNOWN,
        "reason": (
            "Reason for the stop, as a category: traffic_violation, equipment, "
            "investigative, suspicious, call_for_service, warrant, other; " + _UNKNOWN
        ),
        "frisk_performed": "Whether the person was frisked: yes, no; " + _UNKNOWN,
        "search_conducted": "Whether a search was conducted: yes, no; " + _UNKNOWN,
        "contraband_found": "Whether a search found contraband: yes, no; " + _UNKNOWN,
        "use_of_force": "Whether force was used during the stop: yes, no; " + _UNKNOWN,
        "crime_against": (
            "What the offence was against: person, property, society; derived from "
            "the offence where the source does not say; " + _UNKNOWN
        ),
        "force_type": (
            "Kind of force used: bodily, chemical, taser, impact_weapon, "
            "firearm_pointed, firearm_discharged, canine, other; " + _UNKNOWN
        ),
        "subject_injury": "Whether the person was injured: yes, no; " + _UNKNOWN,
    }
)
"""Plain-English descriptions of the dimensions a table can have (coded fields with several
vocabularies are described by :func:`coded_description`)."""

CODED_FIELDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "subject_race": "Race or ethnic group of the person, as the officer recorded it",
        "subject_self_defined_ethnicity": "Ethnic group of the person, as they stated it",
        "subject_age_band": "Age of the person in years, as a band",
        "outcome": "Most severe outcome of the stop, from least to most severe",
        "offense_category": "Offence",
    }
)


def coded_description(field: str, vocabulary: Vocabulary) -> str:
    """A coded field's description in the vocabulary a release counts it in (in the
    language being spoken: the files are written in English)."""
    return _("{field}, in the vocabulary {name} ({title}): {description}; {unknown}").format(
        field=_(CODED_FIELDS[field]),
        name=vocabulary.name,
        title=_(vocabulary.title),
        description=_(vocabulary.description),
        unknown=_(_UNKNOWN),
    )


def described_messages() -> Iterable[str]:
    """The descriptions this module composes from parts, each whole as the data dictionary
    shows it: the translation catalogue takes them from here (see
    :mod:`publishing.i18n_catalogue`)."""
    yield from DIMENSION_DESCRIPTIONS.values()
    yield from MEASURE_DESCRIPTIONS.values()
    yield from CODED_FIELDS.values()
    yield _UNKNOWN
    for family in FAMILIES.values():
        for vocabulary in family:
            yield vocabulary.title
            yield vocabulary.description


MEASURE_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "value": (
            "Differentially private count of {noun} in this cell: noise of a known size "
            "was added to the true count, and the noisy counts were then post-processed "
            "(which costs no privacy) so that every table and level of the release agrees "
            "and every count is a non-negative whole number. It is an estimate, not the "
            "exact count. A cell of 0 with an interval of 0 to 0 and no standard error is a "
            "structural zero: a code this department does not record (its profile says it "
            "cannot occur), published without noise."
        ),
        "ci_low": (
            "Lower end of the 95% interval for the true count of this cell: intervals "
            "made this way hold the true count at least 95% of the time. Never below 0."
        ),
        "ci_high": (
            "Upper end of the 95% interval for the true count of this cell; the interval "
            "always contains the published value."
        ),
        "std_error": (
            "Standard error of the consistent (least-squares) estimate the published "
            "value was rounded from, before rounding, computed from the known noise; "
            "up to 6 significant digits. Empty for releases made before it was kept."
        ),
        "estimate": (
            "The unbiased least-squares estimate of the count of {noun} that the value was "
            "rounded from: it may be fractional or below zero, because rounding to whole "
            "non-negative numbers leans (it lifts cells near zero and takes from large "
            "ones). Add these, not the values, to total many cells, and divide these for "
            "rates. Empty for releases made before it was kept."
        ),
    }
)
"""Plain-English descriptions of the columns after the dimensions (``{noun}`` is filled in
with what the table counts)."""

FIELD_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {**DIMENSION_DESCRIPTIONS, **MEASURE_DESCRIPTIONS}
)
"""Every column this module can describe, by name."""

MEASURE_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "value": "integer",
        "ci_low": "integer",
        "ci_high": "integer",
        "std_error": "number",
        "estimate": "number",
    }
)

SOURCE_NOUNS: Final[Mapping[str, str]] = MappingProxyType(
    {"stops": N_("stops"), "incidents": N_("reported crimes"), "force": N_("uses of force")}
)

_NAME = re.compile(r"[a-z0-9_]+")

CSV_INJECTION_NOTE: Final = (
    "In the CSV files, a text cell that would begin with =, +, -, @, a tab or a carriage "
    "return begins with an apostrophe (') instead, so that spreadsheets show it as text "
    "rather than run it as a formula; numbers are written as they are."
)
"""What :mod:`publishing.csvfiles` does to text cells, in the words of the data package."""


class UndescribedColumn(ValueError):
    """A table has a column the data dictionary has no description for."""


@dataclass(frozen=True)
class DictionaryEntry:
    """One column of one table, in the data dictionary."""

    table: str
    field: str
    type: str  # a Frictionless field type: string, integer or number
    description: str


LABEL_SUFFIX = "_label"
# Dimensions whose values are not codes of a vocabulary: times, and the areas, whose names
# are in the area list (they may change after a release; a code's label never does).
NOT_CODED = ("month", "quarter", "district", "beat")


def is_coded(dimension: str) -> bool:
    """Whether a dimension holds codes of a vocabulary (not a time, not an area)."""
    return dimension not in NOT_CODED


def table_columns(table: PublishedTable) -> tuple[str, ...]:
    """A table's CSV columns: its dimensions, each coded one followed by its label
    (``subject_race,subject_race_label``), then ``value,ci_low,ci_high,std_error,
    estimate``."""
    columns: list[str] = []
    for dimension in table.dimensions:
        columns.append(dimension)
        if is_coded(dimension):
            columns.append(dimension + LABEL_SUFFIX)
    return (*columns, *MEASURES)


def _labelled_key(table: PublishedTable, key: Sequence[str]) -> list[tuple[str, str]]:
    """A cell's key as the files write it, (column, value): each coded value followed by
    its label."""
    pairs: list[tuple[str, str]] = []
    for dimension, value in zip(table.dimensions, key, strict=True):
        pairs.append((dimension, value))
        if is_coded(dimension):
            pairs.append((dimension + LABEL_SUFFIX, label(value)))
    return pairs


def field_description(
    table: PublishedTable, field: str, vocabularies: Mapping[str, str] | None = None
) -> str:
    """The description of one column of a table (a coded field in the vocabulary of
    ``vocabularies``, field -> name, or its default), or :class:`UndescribedColumn` if
    there is none. In plain English for the files; the site's data dictionary page shows
    it in the reader's language."""
    if field in MEASURE_DESCRIPTIONS:
        noun = SOURCE_NOUNS.get(table.source, f"{table.source} records")
        return _(MEASURE_DESCRIPTIONS[field]).format(noun=_(noun))
    if field in table.dimensions and field in CODED_FIELDS:
        vocabulary = declared(field, (vocabularies or {}).get(field))
        assert vocabulary is not None  # every coded field described here has vocabularies
        return coded_description(field, vocabulary)
    if field in table.dimensions and field in DIMENSION_DESCRIPTIONS:
        return _(DIMENSION_DESCRIPTIONS[field])
    coded = field.removesuffix(LABEL_SUFFIX)
    if field.endswith(LABEL_SUFFIX) and coded in table.dimensions and is_coded(coded):
        return _(
            "What the code in {coded} stands for, in the words the site and the reports "
            "use (every code and its label are in codes.csv)."
        ).format(coded=coded)
    raise UndescribedColumn(
        f"column {field!r} of table {table.name!r} has no description: add one to "
        "publishing.opendata.DIMENSION_DESCRIPTIONS before publishing it"
    )


def field_type(field: str) -> str:
    """The Frictionless type of a column: ``string`` for a dimension, else the measure's."""
    return MEASURE_TYPES.get(field, "string")


def _decimal_text(number: float | None) -> str:
    """A rounded measure in plain decimal notation (never an exponent); empty for None."""
    return "" if number is None else format(Decimal(f"{number:.{SIGNIFICANT_DIGITS}g}"), "f")


def table_csv(release: ReleaseInfo, table: PublishedTable) -> bytes:
    """A table as UTF-8 CSV: a header of its dimensions then ``value,ci_low,ci_high,
    std_error,estimate``, and one row per cell in the table's key-set order, with ``\\n``
    line endings. ``std_error`` and ``estimate`` have up to 6 significant digits and are
    empty when unknown.

    ``release`` is not written into the CSV (the data package and the JSON say which
    release a table belongs to); it is taken so every export has the same signature."""
    del release  # the file's name and the package carry the release
    columns = table_columns(table)
    # std_error goes as text, to keep plain decimals; its column is a number column, so
    # that text is written as it is.
    return csv_bytes(
        columns,
        [field_type(column) for column in columns],
        (
            [
                *(value for _, value in _labelled_key(table, cell.key)),
                m.value,
                m.ci_low,
                m.ci_high,
                _decimal_text(m.std_error),
                _decimal_text(m.estimate),
            ]
            for cell in table.cells
            for m in (measures(cell),)
        ),
    )


def _cell_object(table: PublishedTable, cell: PublishedCell) -> dict[str, Any]:
    return {**dict(_labelled_key(table, cell.key)), **msgspec.structs.asdict(measures(cell))}


def _canonical_json(content: Any) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def table_json(release: ReleaseInfo, table: PublishedTable) -> bytes:
    """A table as UTF-8 JSON: ``release_id``, ``period``, the table's metadata (name, title,
    source, dimensions, level_of, mechanism, noise_scale, rho, epsilon, delta) and ``cells``,
    a list of objects with one key per dimension plus value, ci_low, ci_high, std_error and
    estimate (null when unknown), in key-set order. Keys sorted, compact separators."""
    return _canonical_json(
        {
            "release_id": release.id,
            "period": release.period,
            **msgspec.structs.asdict(table_metadata(table)),
            "cells": [_cell_object(table, cell) for cell in table.cells],
        }
    )


def _by_name(tables: Mapping[str, PublishedTable]) -> list[PublishedTable]:
    return [tables[name] for name in sorted(tables)]


def data_dictionary(
    tables: Mapping[str, PublishedTable], vocabularies: Mapping[str, str] | None = None
) -> list[DictionaryEntry]:
    """Every column of every table (tables by name, columns in CSV order), with its type and
    plain-English description (coded fields in the release's ``vocabularies``);
    :class:`UndescribedColumn` if a column has no description."""
    return [
        DictionaryEntry(
            table.name,
            column,
            field_type(column),
            field_description(table, column, vocabularies),
        )
        for table in _by_name(tables)
        for column in table_columns(table)
    ]


@dataclass(frozen=True)
class CodeEntry:
    """One code a release's tables use, with the words it stands for."""

    field: str
    code: str
    label: str


def code_list(tables: Mapping[str, PublishedTable]) -> list[CodeEntry]:
    """Every code of every coded column the release's tables have, field by field, each
    with its label as the site shows it."""
    found: dict[str, dict[str, None]] = {}
    for table in _by_name(tables):
        for dimension in table.dimensions:
            if is_coded(dimension):
                found.setdefault(dimension, {}).update(dict.fromkeys(table.values_of(dimension)))
    return [CodeEntry(field, code, label(code)) for field in sorted(found) for code in found[field]]


def codes_csv(tables: Mapping[str, PublishedTable]) -> bytes:
    """The code list as UTF-8 CSV with the header ``field,code,label``."""
    return csv_bytes(
        ("field", "code", "label"), [TEXT] * 3, (astuple(e) for e in code_list(tables))
    )


def data_dictionary_csv(
    tables: Mapping[str, PublishedTable], vocabularies: Mapping[str, str] | None = None
) -> bytes:
    """The data dictionary as UTF-8 CSV with the header ``table,field,type,description``
    (every column is text)."""
    return csv_bytes(
        ("table", "field", "type", "description"),
        [TEXT] * 4,
        (astuple(entry) for entry in data_dictionary(tables, vocabularies)),
    )


def _created(release: ReleaseInfo) -> str:
    """The release's creation time in RFC 3339 UTC (stored times are naive UTC)."""
    created = release.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    return created.strftime("%Y-%m-%dT%H:%M:%SZ")


def _checked_name(table: PublishedTable) -> str:
    if not _NAME.fullmatch(table.name):
        raise ValueError(
            f"table name {table.name!r} cannot name an open-data file: use "
            "lowercase letters, digits and underscores"
        )
    return table.name


def _and_list(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def _resource_description(table: PublishedTable) -> str:
    noun = SOURCE_NOUNS.get(table.source, f"{table.source} records")
    words = [
        f"{table.title}: differentially private counts of {noun} by "
        f"{_and_list(table.dimensions)}, each with its 95% interval."
    ]
    if table.mechanism == "laplace":
        words.append(
            f"Discrete Laplace noise of scale {table.noise_scale:.4g} was added; "
            f"this table's share of the budget is epsilon = {table.epsilon:.3g}."
        )
    else:
        words.append(
            f"Discrete Gaussian noise of scale {table.noise_scale:.4g} was added; "
            f"this table's share of the budget is zCDP rho = {table.rho:.4g}, that "
            f"is ({table.epsilon:.3g}, {table.delta:g})-differential privacy."
        )
    if table.level_of:
        words.append(
            f"A coarser level of {table.level_of}: its counts are the sums of "
            f"{table.level_of}'s counts."
        )
    words.append(f"The same table with its metadata is in tables/{table.name}.json.")
    return " ".join(words)


def _schema(table: PublishedTable, vocabularies: Mapping[str, str]) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    for column in table_columns(table):
        field: dict[str, Any] = {
            "name": column,
            "type": field_type(column),
            "description": field_description(table, column, vocabularies),
        }
        if column in table.dimensions or column == "value":
            field["constraints"] = {"required": True}
        if column in ("value", "ci_low"):
            field["constraints"] = {**field.get("constraints", {}), "minimum": 0}
        fields.append(field)
    return {"fields": fields, "primaryKey": list(table.dimensions), "missingValues": [""]}


def _resource(table: PublishedTable, vocabularies: Mapping[str, str]) -> dict[str, Any]:
    name = _checked_name(table)
    return {
        "name": name,
        "path": f"tables/{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": table.title,
        "description": _resource_description(table),
        "schema": _schema(table, vocabularies),
    }


def datapackage(
    release: ReleaseInfo,
    tables: Mapping[str, PublishedTable],
    areas: Sequence[AreaInfo] = (),
) -> dict[str, Any]:
    """The Frictionless Data Package (v1) descriptor of a release's open data: one tabular
    resource per table (``tables/NAME.csv``, by table name), with its schema, the field
    descriptions of the data dictionary, and the tables' dimensions as primary keys; the
    codes; and the areas frozen with the release, where it has them (``areas.csv``)."""
    sources = {table.source for table in tables.values()}
    nouns = [noun for source, noun in SOURCE_NOUNS.items() if source in sources]
    nouns += sorted(f"{source} records" for source in sources - set(SOURCE_NOUNS))
    description = [
        f"The {release.period} release of the police transparency portal: counts of "
        f"{_and_list(nouns) or 'records'}, protected by differential privacy. Every count "
        "has random noise of a known size added, which limits what it can reveal about any "
        "one record or person, and comes with a 95% interval for the true count.",
    ]
    words = release.budget_statement.get("words")
    if words:
        description.append(str(words))
    statement = release.statement
    if statement.partial:
        description.append(
            f"A partial quarter: the department's data cover only part of {release.period} "
            f"({statement.coverage_words()}); do not compare it with whole quarters as it is."
        )
    for why in statement.not_published:
        description.append(f"Not published: {why}.")
    description.append(
        f"Made under privacy policy {release.policy_name} version {release.policy_version} "
        f"(SHA-256 {release.policy_sha256}) by engine {release.engine_version}. "
        "data-dictionary.csv describes every column; tables/NAME.json holds each table "
        "with its metadata."
    )
    description.append(CSV_INJECTION_NOTE)
    return {
        "profile": "tabular-data-package",
        "name": f"release-{release.period.lower()}-{release.id[:12]}",
        "title": f"Police transparency data, {release.period} (differentially private)",
        "description": " ".join(description),
        "version": release.id,
        "created": _created(release),
        "licenses": [dict(LICENSE)],
        "keywords": ["police", "transparency", "differential privacy", release.period],
        "resources": [
            *(_resource(table, dict(statement.vocabularies)) for table in _by_name(tables)),
            _codes_resource(),
            *([_areas_resource()] if areas else []),
        ],
    }


def datapackage_json(
    release: ReleaseInfo,
    tables: Mapping[str, PublishedTable],
    areas: Sequence[AreaInfo] = (),
) -> bytes:
    """``datapackage.json`` as written with the open data and served by the site: the same
    bytes (UTF-8, keys sorted, two-space indents, a final newline)."""
    package = json.dumps(
        datapackage(release, tables, areas),
        indent=2,
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,
    )
    return (package + "\n").encode("utf-8")


def _codes_resource() -> dict[str, Any]:
    """The data package's resource for ``codes.csv``."""
    return {
        "name": "codes",
        "path": "codes.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": "Codes",
        "description": (
            "Every code the tables use, with the words it stands for on the site and in the "
            "reports. Area codes are named in the portal's area list (/areas.csv)."
        ),
        "schema": {
            "fields": [
                {"name": "field", "type": "string", "description": "The column the code is in."},
                {"name": "code", "type": "string", "description": "The code."},
                {"name": "label", "type": "string", "description": "What the code stands for."},
            ],
            "primaryKey": ["field", "code"],
        },
    }


def _areas_resource() -> dict[str, Any]:
    """The data package's resource for ``areas.csv``: the areas as they stood when the
    release was written."""
    described = {
        "code": "The area's code, as the tables' district and beat columns use it.",
        "level": "city, district or beat.",
        "name": "The area's name when the release was written.",
        "parent_code": "The code of the area it lies in (empty for the city).",
        "population": "Residents, where the department declared them (empty otherwise).",
    }
    return {
        "name": "areas",
        "path": "areas.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": "Areas",
        "description": (
            "The city, its districts and beats as declared when the release was written: "
            "every area code the tables use, with its name and the area it lies in. The "
            "portal's current list (/areas.csv, /areas.geojson) follows later renames."
        ),
        "schema": {
            "fields": [
                {
                    "name": column,
                    "type": "integer" if column == "population" else "string",
                    "description": described[column],
                }
                for column in AREA_COLUMNS
            ],
            "primaryKey": ["code"],
        },
    }


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def open_data_files(
    release: ReleaseInfo,
    tables: Mapping[str, PublishedTable],
    areas: Sequence[AreaInfo] = (),
) -> Iterable[tuple[str, bytes]]:
    """Every open-data file of a release as (relative path, bytes): ``datapackage.json``,
    ``data-dictionary.csv``, ``codes.csv``, ``areas.csv`` where the release has its areas,
    and ``tables/NAME.csv`` and ``tables/NAME.json`` per table."""
    yield "datapackage.json", datapackage_json(release, tables, areas)
    yield "data-dictionary.csv", data_dictionary_csv(tables, dict(release.statement.vocabularies))
    yield "codes.csv", codes_csv(tables)
    if areas:
        yield "areas.csv", areas_csv(areas)
    for table in _by_name(tables):
        name = _checked_name(table)
        yield f"tables/{name}.csv", table_csv(release, table)
        yield f"tables/{name}.json", table_json(release, table)


def write_open_data(
    release: ReleaseInfo,
    tables: Mapping[str, PublishedTable],
    directory: Path,
    areas: Sequence[AreaInfo] = (),
) -> Path:
    """Write a release's open data into ``directory`` (created if needed; files already
    there with the same names are replaced, others are left alone) and return the path of
    its ``datapackage.json``."""
    files = list(open_data_files(release, tables, areas))  # every check passes before any write
    for relative, content in files:
        _write(directory / relative, content)
    return directory / "datapackage.json"
