"""Count every table of a release in as few passes over the records as possible.

Counted by record, the tables of one source are read together: their fields (dimensions
and the fields they filter on) are grouped in one pass at the finest grain they need, and
each table is then summed from those groups in memory. The counts are exactly those of
:func:`privacy.release.aggregate.count_table`; only the number of scans differs.

The finest grain of many tables can have more cells than there are records, so the tables
of a source are packed into scans whose combined key space stays under
:data:`SCAN_CELLS`, judged from the public key sets alone (months, declared areas, stored
vocabularies), never from the records. PostgreSQL reads a source's quarter once for all
its scans (GROUPING SETS); SQLite, which has no grouping sets, once a scan. Counted by
person, each table bounds each person's contributions itself, so it keeps a query of its
own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    func,
    select,
    tuple_,
)

from privacy import vocabulary as v
from privacy.release.aggregate import (
    TableCounts,
    between,
    count_table,
    counting,
    dimension_values,
    key_set,
    known_or_unknown,
    stored_value,
)
from privacy.release.periods import Quarter
from privacy.release.policy import AREA_DIMENSIONS, PrivacyUnit, TableSpec
from privacy.schema import fields_of
from privacy.store.models import RECORD_TABLES, InternalBase

# The most cells one scan may group by (the product of its fields' key-set sizes): it
# bounds the groups held in memory, whatever the number of records.
SCAN_CELLS = 1 << 16


@dataclass(frozen=True)
class Scan:
    """One pass over a source's records of the quarter, grouped by ``fields``, for the
    tables at ``members`` (positions in the release's list of tables)."""

    source: str
    fields: tuple[str, ...]
    members: tuple[int, ...]


def count_tables(
    engine: Engine,
    specs: Sequence[TableSpec],
    quarter: Quarter,
    unit: PrivacyUnit,
    areas: dict[str, tuple[str, ...]],
) -> list[TableCounts]:
    """Every table's counts, as :func:`count_table` gives them, in the order of ``specs``."""
    if unit.kind != "record":
        return [count_table(engine, spec, quarter, unit, areas) for spec in specs]
    keys = [tuple(key_set(spec, quarter, areas)) for spec in specs]
    counted: dict[int, TableCounts] = {}
    planned = plan_scans(specs, areas)
    with engine.connect() as connection:
        counting(connection)
        for source in dict.fromkeys(scan.source for scan in planned):
            scans = [scan for scan in planned if scan.source == source]
            for scan, found in zip(scans, _found(connection, scans, quarter, areas), strict=True):
                groups = _groups(scan, found)
                for i in scan.members:
                    counted[i] = TableCounts(
                        specs[i], keys[i], _rolled_up(groups, specs[i], quarter, areas)
                    )
    return [counted[i] for i in range(len(specs))]


def count_one(
    engine: Engine,
    spec: TableSpec,
    quarter: Quarter,
    unit: PrivacyUnit,
    areas: dict[str, tuple[str, ...]],
) -> TableCounts:
    """One table's counts, counted as a release counts it."""
    return count_tables(engine, [spec], quarter, unit, areas)[0]


def plan_scans(specs: Sequence[TableSpec], areas: dict[str, tuple[str, ...]]) -> list[Scan]:
    """The scans that count ``specs``: each table, largest key space first, joins the scan
    of its source that is smallest once it takes the table, if that stays within
    :data:`SCAN_CELLS` (or the scan grows not at all); otherwise it starts a scan of its
    own."""
    order = sorted(
        range(len(specs)), key=lambda i: -_cells(_fields(specs[i]), specs[i].source, areas)
    )
    scans: list[tuple[str, list[str], list[int]]] = []
    for i in order:
        spec, wanted = specs[i], _fields(specs[i])
        best: tuple[int, int] | None = None  # (cells after joining, scan)
        for n, (source, fields, _) in enumerate(scans):
            if source != spec.source:
                continue
            cells = _cells(tuple(dict.fromkeys((*fields, *wanted))), source, areas)
            # A table whose fields the scan groups by already costs it nothing.
            room = max(SCAN_CELLS, _cells(tuple(fields), source, areas))
            if cells <= room and (best is None or cells < best[0]):
                best = (cells, n)
        if best is None:
            scans.append((spec.source, list(wanted), [i]))
        else:
            _, fields, members = scans[best[1]]
            fields.extend(f for f in wanted if f not in fields)
            members.append(i)
    return [Scan(source, tuple(fields), tuple(sorted(kept))) for source, fields, kept in scans]


def _fields(spec: TableSpec) -> tuple[str, ...]:
    """The stored fields a table is counted by: its dimensions (the quarter is every
    record's) and the fields it filters on."""
    named = (*spec.dimensions, *(field for field, _ in spec.where))
    return tuple(dict.fromkeys(name for name in named if name != "quarter"))


def _cells(fields: tuple[str, ...], source: str, areas: dict[str, tuple[str, ...]]) -> int:
    """How many groups ``fields`` can have, from public declarations: three months, the
    declared areas and unknown, each field's stored codes."""
    stored = {f.name: len(f.stored_codes) for f in fields_of(source) if f.stored_codes}

    def size(name: str) -> int:
        if name == "month":
            return 3
        if name in AREA_DIMENSIONS:
            return len(areas.get(name, ())) + 1
        return stored[name]

    return math.prod(size(name) for name in fields)


@dataclass(frozen=True)
class _Groups:
    """A scan's records grouped by its fields: each field's distinct stored values, each
    group's position among them, and each group's count."""

    values: dict[str, tuple[str, ...]]
    positions: dict[str, NDArray[np.int64]]
    counts: NDArray[np.int64]


def _found(
    connection: Connection, scans: list[Scan], quarter: Quarter, areas: dict[str, tuple[str, ...]]
) -> list[dict[tuple[str, ...], int]]:
    """Each scan's groups and their counts, for scans of one source. PostgreSQL reads the
    quarter once for all of them (GROUPING SETS); SQLite, which has no grouping sets,
    once a scan (a month at a time, for a scan by month). Either way the database
    groups, and lets go of the GIL while it does, so the release's simulation runs beside
    it."""
    table = InternalBase.metadata.tables[RECORD_TABLES[scans[0].source]]
    dialect = connection.dialect.name
    window = between(table, quarter.start, quarter.end)
    if dialect == "sqlite":
        return [_by_month(connection, table, scan, quarter, areas) for scan in scans]
    if len(scans) == 1:
        return [_found_in(connection, table, scans[0].fields, window, areas)]
    fields = list(dict.fromkeys(name for scan in scans for name in scan.fields))
    expressions = [_grouped_value(name, table.c, dialect, areas) for name in fields]
    # GROUPING() has a bit for each field, the first the highest, set where a row's group
    # leaves the field out: it says which scan the row belongs to.
    masks = {
        sum(
            1 << (len(fields) - 1 - at) for at, name in enumerate(fields) if name not in scan.fields
        ): n
        for n, scan in enumerate(scans)
    }
    sets = [tuple_(*(expressions[fields.index(name)] for name in scan.fields)) for scan in scans]
    query = (
        select(func.grouping(*expressions), *expressions, func.count())
        .where(*window)
        .group_by(func.grouping_sets(*sets))
    )
    at = [[1 + fields.index(name) for name in scan.fields] for scan in scans]
    grouped: list[dict[tuple[str, ...], int]] = [{} for _ in scans]
    for rows in _batches(connection.execute(query)):
        for row in rows:
            n = masks[row[0]]
            grouped[n][tuple(row[i] for i in at[n])] = row[-1]
    return grouped


def _found_in(
    connection: Connection,
    table: Any,
    fields: Sequence[str],
    window: Sequence[Any],
    areas: dict[str, tuple[str, ...]],
) -> dict[tuple[str, ...], int]:
    """The records in ``window`` grouped by ``fields``, with their counts."""
    dialect = connection.dialect.name
    expressions = [_grouped_value(name, table.c, dialect, areas) for name in fields]
    query = select(*expressions, func.count()).where(*window)
    if expressions:
        query = query.group_by(*expressions)
    return {row[:-1]: row[-1] for rows in _batches(connection.execute(query)) for row in rows}


def _by_month(
    connection: Connection,
    table: Any,
    scan: Scan,
    quarter: Quarter,
    areas: dict[str, tuple[str, ...]],
) -> dict[tuple[str, ...], int]:
    """A scan on SQLite. Grouped by month, it is read a month at a time: each month is a
    range of the table's key, and grouping within it leaves the month out of the key
    SQLite sorts by, and out of every row's work."""
    if "month" not in scan.fields:
        return _found_in(
            connection, table, scan.fields, between(table, quarter.start, quarter.end), areas
        )
    at = scan.fields.index("month")
    others = [name for name in scan.fields if name != "month"]
    starts = [datetime.strptime(month, "%Y-%m") for month in quarter.months]
    found: dict[tuple[str, ...], int] = {}
    for month, start, end in zip(quarter.months, starts, [*starts[1:], quarter.end], strict=True):
        for key, count in _found_in(
            connection, table, others, between(table, start, end), areas
        ).items():
            found[(*key[:at], month, *key[at:])] = count
    return found


def _grouped_value(
    name: str, columns: Any, dialect: str, areas: dict[str, tuple[str, ...]]
) -> ColumnElement[Any]:
    """What a scan groups a field by: the stored value, except
    * an area outside the declared ones, read as unknown here: records may hold any number
      of codes nobody declared, and a scan's groups are bounded only if each field has the
      values its key set counts (the other fields' codes are bounded by the store's checks);
    * a month on PostgreSQL, which is its first instant (truncating a timestamp costs less
      than formatting it, row after row); _groups writes it as ``YYYY-MM``."""
    if name == "month" and dialect == "postgresql":
        return func.date_trunc("month", columns.occurred_at).label("month")
    if name in AREA_DIMENSIONS:
        return known_or_unknown(columns[name], areas.get(name, ())).label(name)
    return stored_value(name, columns, dialect)


def _groups(scan: Scan, found: dict[tuple[str, ...], int]) -> _Groups:
    """A scan's groups as positions among each field's distinct values, with counts."""
    values: dict[str, tuple[str, ...]] = {}
    positions: dict[str, NDArray[np.int64]] = {}
    for at, name in enumerate(scan.fields):
        column = [group[at] for group in found]
        distinct = {value: i for i, value in enumerate(dict.fromkeys(column))}
        values[name] = tuple(
            value.strftime("%Y-%m") if isinstance(value, datetime) else value for value in distinct
        )
        positions[name] = np.fromiter(
            map(distinct.__getitem__, column), dtype=np.int64, count=len(column)
        )
    counts = np.fromiter(found.values(), dtype=np.int64, count=len(found))
    return _Groups(values, positions, counts)


def _batches(result: CursorResult[Any]) -> Iterator[Sequence[Any]]:
    """The result's rows as the driver gives them (tuples), in batches of bounded size."""
    cursor = result.cursor
    while rows := cursor.fetchmany(10_000):
        yield rows


def _rolled_up(
    groups: _Groups, spec: TableSpec, quarter: Quarter, areas: dict[str, tuple[str, ...]]
) -> tuple[int, ...]:
    """The table's counts over its key set, summed from a scan's groups: a group outside
    the table's filter is left out, a stored code outside the key set counted as unknown."""
    kept = np.ones(len(groups.counts), dtype=bool)
    for field, codes in spec.where:
        allowed = np.asarray([value in codes for value in groups.values[field]], dtype=bool)
        kept &= allowed[groups.positions[field]]
    cell = np.zeros(len(groups.counts), dtype=np.int64)
    size = 1
    for dimension in spec.dimensions:
        values = dimension_values(dimension, spec, quarter, areas)
        cell *= len(values)
        size *= len(values)
        if dimension == "quarter":
            continue
        index = {value: i for i, value in enumerate(values)}
        # A stored month of the quarter is one of its months; every dimension that can hold
        # another code has unknown in its key set.
        at = np.asarray(
            [index[value if value in index else v.UNKNOWN] for value in groups.values[dimension]],
            dtype=np.int64,
        )
        cell += at[groups.positions[dimension]]
    summed = np.bincount(cell[kept], weights=groups.counts[kept], minlength=size)
    return tuple(int(n) for n in summed)
