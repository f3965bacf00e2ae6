"""Aggregate in the database over the public key set: one GROUP BY per table.

Every combination of declared keys (months or the quarter, the areas, each category's
vocabulary) is a cell, so empty cells are released like any other. A record whose area is
not a declared area, or whose code is outside the vocabulary, is counted under
``unknown``, never dropped. Where the privacy unit is a person, contributions are bounded
inside the query with a window function: at most ``c`` records in a cell and ``g`` cells
of a table per person.

A release counts all its tables at once with :mod:`privacy.release.scans`, which reads
each source once where this module reads it once per table; the counts are the same.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    case,
    func,
    literal,
    select,
)

from privacy import vocabulary as v
from privacy.release.periods import Quarter
from privacy.release.policy import AREA_DIMENSIONS, PrivacyUnit, TableSpec
from privacy.store.models import RECORD_TABLES, InternalBase

Key = tuple[str, ...]


class NoAreasError(ValueError):
    """The public store declares no areas, so no key set can be built."""


@dataclass(frozen=True)
class TableCounts:
    """One table's true counts over its full key set, in key order. Internal only."""

    spec: TableSpec
    keys: tuple[Key, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Sensitivity:
    """How much one privacy unit can change a table's count vector."""

    l1: float
    l2: float


def sensitivity(unit: PrivacyUnit) -> Sensitivity:
    """Record: one cell by one. Person: up to c in each of up to g cells."""
    c, g = unit.max_records_per_cell, unit.max_cells
    if unit.kind == "record":
        return Sensitivity(1.0, 1.0)
    return Sensitivity(float(c * g), c * math.sqrt(g))


def key_set(
    spec: TableSpec,
    quarter: Quarter,
    areas: dict[str, tuple[str, ...]],
    dimensions: tuple[str, ...] | None = None,
) -> list[Key]:
    """Every cell of ``spec`` (or of its level with ``dimensions``) for ``quarter``: the
    product of the dimensions' values."""
    return list(
        itertools.product(
            *(dimension_values(d, spec, quarter, areas) for d in dimensions or spec.dimensions)
        )
    )


def dimension_values(
    dimension: str, spec: TableSpec, quarter: Quarter, areas: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The values ``dimension`` takes in ``spec``'s key set, in key order."""
    if dimension == "month":
        return quarter.months
    if dimension == "quarter":
        return (str(quarter),)
    if dimension in AREA_DIMENSIONS:
        if not areas.get(dimension):
            raise NoAreasError(
                f"no {dimension}s are declared in the public store, so table "
                f"{spec.name} has no key set: run `portal ingest areas FILE "
                "--mapping NAME` first"
            )
        return (*areas[dimension], v.UNKNOWN)
    return spec.codes_of(dimension)


def count_table(
    engine: Engine,
    spec: TableSpec,
    quarter: Quarter,
    unit: PrivacyUnit,
    areas: dict[str, tuple[str, ...]],
) -> TableCounts:
    """Run the table's GROUP BY and lay the result over its full key set."""
    keys = key_set(spec, quarter, areas)
    table = InternalBase.metadata.tables[RECORD_TABLES[spec.source]]
    by_record = unit.kind == "record"
    with engine.connect() as connection:
        counting(connection)
        dialect = connection.dialect.name
        expressions = [
            _key_expression(d, table.c, spec, dialect, areas, mapped=not by_record)
            for d in spec.dimensions
        ]
        query = (_record_query if by_record else _person_query)(
            table, expressions, spec, quarter, unit, dialect
        )
        found = connection.execute(query).all()
    # Counted by record, a cell is grouped on the stored codes and an unknown code is
    # mapped here, once per distinct code, rather than by a CASE on every row; counted by
    # person, the query bounds each person's cells, so it maps them itself.
    known = [_known(d, spec, areas) if by_record else None for d in spec.dimensions]
    index = {key: i for i, key in enumerate(keys)}
    counts = [0] * len(keys)
    for row in found:
        key = tuple(
            value if codes is None or value in codes else v.UNKNOWN
            for value, codes in zip(row[:-1], known, strict=True)
        )
        counts[index[key]] += int(row[-1])  # every key the query can produce is in the key set
    return TableCounts(spec, tuple(keys), tuple(counts))


def _known(
    dimension: str, spec: TableSpec, areas: dict[str, tuple[str, ...]]
) -> frozenset[str] | None:
    """The codes a stored value of ``dimension`` is kept as; any other is unknown. None
    for a time dimension, whose values the query makes."""
    if dimension in ("month", "quarter"):
        return None
    return frozenset(areas[dimension] if dimension in AREA_DIMENSIONS else spec.codes_of(dimension))


def _key_expression(
    dimension: str,
    columns: Any,
    spec: TableSpec,
    dialect: str,
    areas: dict[str, tuple[str, ...]],
    *,
    mapped: bool,
) -> ColumnElement[Any]:
    """The dimension's value of a record: its month, the quarter, or its stored code (with
    ``mapped``, a code outside the key set already read as unknown)."""
    if dimension == "quarter":
        return literal(None, String()).label("quarter")  # one value per release: filled in below
    if dimension == "month" or not mapped:
        return stored_value(dimension, columns, dialect)
    known = areas[dimension] if dimension in AREA_DIMENSIONS else spec.codes_of(dimension)
    return known_or_unknown(columns[dimension], known).label(dimension)


def known_or_unknown(column: Column[Any], known: tuple[str, ...]) -> ColumnElement[Any]:
    """The column's value where it is one of ``known``, else unknown."""
    return case((column.in_(known), column), else_=literal(v.UNKNOWN, String()))


def counting(connection: Connection) -> None:
    """Set ``connection`` up for the release's grouped counts. On PostgreSQL, for this
    transaction: no JIT compilation, which took longer than the counting it was for, and
    room to group in memory (64 MB a hash table), since the planner, which multiplies the
    fields' distinct values, expects far more groups than there are and would sort."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def stored_value(dimension: str, columns: Any, dialect: str) -> ColumnElement[Any]:
    """A record's value of ``dimension`` as stored: its month as ``YYYY-MM``, or the code
    in its column."""
    if dimension == "month":
        occurred = columns.occurred_at
        # SQLite keeps datetimes as ISO text; PostgreSQL formats its timestamp.
        month = (
            func.substr(occurred, 1, 7)
            if dialect == "sqlite"
            else func.to_char(occurred, "YYYY-MM")
        )
        return month.label("month")
    return columns[dimension].label(dimension)  # type: ignore[no-any-return]


def between(table: Any, start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    """The records from ``start`` up to, not including, ``end``: a range of the key."""
    return (table.c.occurred_at >= start, table.c.occurred_at < end)


def _where(table: Any, spec: TableSpec, quarter: Quarter) -> list[ColumnElement[bool]]:
    conditions = [*between(table, quarter.start, quarter.end)]
    conditions += [table.c[field].in_(codes) for field, codes in spec.where]
    return conditions


def _record_query(
    table: Any,
    expressions: list[ColumnElement[Any]],
    spec: TableSpec,
    quarter: Quarter,
    unit: PrivacyUnit,
    dialect: str,
) -> Select[Any]:
    keyed = [e for e in expressions if e.name != "quarter"]
    query = select(*_with_quarter(expressions, quarter), func.count()).where(
        *_where(table, spec, quarter)
    )
    return query.group_by(*keyed) if keyed else query


def _person_query(
    table: Any,
    expressions: list[ColumnElement[Any]],
    spec: TableSpec,
    quarter: Quarter,
    unit: PrivacyUnit,
    dialect: str,
) -> Select[Any]:
    # A record without a person key is a person of its own; so is every record of a source
    # that has no person key at all (incidents).
    own = literal("record:", String()) + table.c.source_id
    person = func.coalesce(table.c.person_key, own) if "person_key" in table.c else own
    keyed = [e for e in expressions if e.name != "quarter"]
    cells = (
        select(person.label("person"), *keyed, func.count().label("n"))
        .where(*_where(table, spec, quarter))
        .group_by(person, *keyed)
        .subquery()
    )
    names = [e.name for e in keyed]
    rank = func.row_number().over(
        partition_by=cells.c.person, order_by=[cells.c.n.desc(), *(cells.c[name] for name in names)]
    )
    ranked = select(cells, rank.label("r")).subquery()
    least = func.min if dialect == "sqlite" else func.least  # scalar min of two values
    bounded = func.sum(least(ranked.c.n, unit.max_records_per_cell))
    kept = [ranked.c[name] for name in names]
    outer = [_from(e, ranked, quarter) for e in expressions]
    query = select(*outer, bounded).where(ranked.c.r <= unit.max_cells)
    return query.group_by(*kept) if kept else query


def _with_quarter(
    expressions: list[ColumnElement[Any]],
    quarter: Quarter,
) -> list[ColumnElement[Any]]:
    return [
        literal(str(quarter), String()).label("quarter") if e.name == "quarter" else e
        for e in expressions
    ]


def _from(expression: ColumnElement[Any], ranked: Any, quarter: Quarter) -> ColumnElement[Any]:
    if expression.name == "quarter":
        return literal(str(quarter), String()).label("quarter")
    return ranked.c[expression.name]  # type: ignore[no-any-return]
