"""The mapping file's declared schema: the keys a mapping, each ``[fields.NAME]`` rule, each
``[[variants]]`` layout and each extra area may have, and their types (read by
:func:`publishing.documents.read_document`; what only code can check, such as codes in a
field's vocabulary or a time zone that exists, is checked by :mod:`privacy.ingest.mapping`)."""

from __future__ import annotations

import datetime

import msgspec


class FieldDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[fields.NAME]``: how one canonical field is read (see the README's mapping files)."""

    column: str | None = None
    columns: list[str] | None = None
    value: str | None = None
    values: dict[str, str] = {}
    fallback: str | None = None
    format: str = "iso"
    transform: str | None = None
    combine: str | None = None
    numeric: str | None = None
    separator: str | None = None
    column_values: dict[str, dict[str, str]] = {}
    take: list[str] = []
    parent_of: str | None = None
    from_line: bool | None = None
    vocabulary: str | None = None
    projection: str | None = None


class AreaDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[extra_areas]]``: an area the records name that the areas file does not."""

    code: str
    level: str
    name: str
    parent: str | None = None


class VariantDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[variants]]``: a layout the export has had, told apart by its header (a file whose
    header has these columns) or by its date (the rows from this date on)."""

    name: str
    when_header_has: list[str] = []
    from_date: datetime.date | None = None
    fields: dict[str, FieldDocument] = {}


class MappingDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A mapping file."""

    name: str
    kind: str
    source: str
    description: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    timezone: str = "UTC"
    max_field_length: int = 10_000
    null_values: list[str] = msgspec.field(default_factory=lambda: [""])
    duplicates: str = "error"
    fields: dict[str, FieldDocument] = {}
    extra_areas: list[AreaDocument] = []
    variants: list[VariantDocument] = []
