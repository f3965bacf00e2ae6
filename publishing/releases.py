"""A release in its public form: content-hashed, immutable, written in one transaction.

The release engine (``privacy.release``) hands a :class:`ReleaseContent` over; from here on
nothing is private. The id is the SHA-256 of the content itself, so the same numbers always
have the same id, and writing a release twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cached_property
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, insert, literal, select
from sqlalchemy.exc import DBAPIError

from publishing.models import Area, Release, ReleaseArea, ReleaseCell, ReleaseTable


@dataclass(frozen=True)
class PublishedCell:
    """One published number of a table, keyed by its dimensions: its value, 95% interval,
    the standard error of the estimate it was rounded from, and that estimate. The same
    structure goes from the release engine to the public store and from the store to every
    surface (pages, API, open data, reports); the store's ``published`` column is its
    ``value``."""

    key: tuple[str, ...]
    value: int
    ci_low: int
    ci_high: int
    std_error: float | None  # None in releases made before it was kept
    raw_noisy: int | None = None  # the signed noisy value measured for it
    # The unbiased least-squares estimate the published integer was rounded from: may be
    # negative or fractional. Sums, rates and changes are computed from it. None in
    # releases made before it was kept.
    estimate: float | None = None
    # A structural zero: a code the department profile says cannot occur, so the cell was
    # not measured; published as 0 with no noise ("not recorded by this department").
    structural: bool = False

    @property
    def unbiased(self) -> float:
        """The value sums and rates are computed from: the unbiased estimate where the
        release kept it, else the published integer."""
        return float(self.value) if self.estimate is None else self.estimate


@dataclass(frozen=True)
class PublishedTable:
    """One table of a release, its cells in key-set order, and its noise calibration.
    ``level_of`` names the policy table it is a coarser level of, if it is one."""

    name: str
    title: str
    source: str
    dimensions: tuple[str, ...]
    level_of: str | None
    mechanism: str
    noise_scale: float
    rho: float
    epsilon: float
    delta: float
    cells: tuple[PublishedCell, ...]

    def where(self, **values: str | Iterable[str]) -> list[PublishedCell]:
        """The cells whose dimensions take the given value (or one of the given values)."""
        if not values:
            return list(self.cells)
        chosen: set[int] | None = None
        for dimension, value in values.items():
            index = self._positions[self.dimensions.index(dimension)]
            wanted = [value] if isinstance(value, str) else value
            found = {p for v in wanted for p in index.get(v, ())}
            chosen = found if chosen is None else chosen & found
        return [self.cells[p] for p in sorted(chosen or ())]

    @cached_property
    def _positions(self) -> list[dict[str, list[int]]]:
        """Per dimension: value -> positions of the cells that have it."""
        index: list[dict[str, list[int]]] = [{} for _ in self.dimensions]
        for position, cell in enumerate(self.cells):
            for i, value in enumerate(cell.key):
                index[i].setdefault(value, []).append(position)
        return index

    def values_of(self, dimension: str) -> list[str]:
        """The values a dimension takes, in key-set order."""
        index = self.dimensions.index(dimension)
        return list(dict.fromkeys(c.key[index] for c in self.cells))


@dataclass(frozen=True)
class ReleaseContent:
    """Everything a release publishes."""

    period: str
    release_key: str
    policy_name: str
    policy_version: int
    policy_sha256: str
    policy_text: str
    budget_statement: dict[str, Any]
    engine_version: str
    tables: tuple[PublishedTable, ...]

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the content (the release's id); tables count
        in name order, so the order they were handed over in does not matter."""
        content = {name: getattr(self, name) for name in _RELEASE_FIELDS}
        content["tables"] = [
            {
                **{name: getattr(table, name) for name in _TABLE_FIELDS},
                "cells": [
                    [list(c.key), c.value, c.ci_low, c.ci_high, c.raw_noisy, c.std_error]
                    # Kept only where there is one, so that earlier releases keep their ids.
                    + ([] if c.estimate is None else [c.estimate])
                    + (["structural"] if c.structural else [])
                    for c in table.cells
                ],
            }
            for table in sorted(self.tables, key=lambda table: table.name)
        ]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_RELEASE_FIELDS = tuple(f.name for f in fields(ReleaseContent) if f.name != "tables")
_TABLE_FIELDS = tuple(f.name for f in fields(PublishedTable) if f.name != "cells")


def write_release(public: Engine, content: ReleaseContent, *, created_at: datetime) -> str:
    """Write ``content`` to the public store in one transaction; return its id. Writing
    the same content again is a no-op (releases are immutable)."""
    with public.begin() as connection:
        return write_release_in(connection, content, created_at=created_at)


def write_release_in(
    connection: Connection, content: ReleaseContent, *, created_at: datetime
) -> str:
    """:func:`write_release` inside the caller's transaction (with what else must be
    written with it, or not at all)."""
    release_id = content.content_hash()
    exists = connection.execute(select(Release.id).where(Release.id == release_id)).first()
    if exists is not None:
        return release_id
    connection.execute(
        insert(Release).values(
            id=release_id,
            period=content.period,
            release_key=content.release_key,
            policy_name=content.policy_name,
            policy_version=content.policy_version,
            policy_sha256=content.policy_sha256,
            policy_text=content.policy_text,
            budget_statement=json.dumps(content.budget_statement, sort_keys=True),
            engine_version=content.engine_version,
            created_at=created_at,
        )
    )
    connection.execute(
        insert(ReleaseTable),
        [
            {
                **{name: getattr(table, name) for name in _TABLE_FIELDS},
                "dimensions": json.dumps(list(table.dimensions)),
                "release_id": release_id,
            }
            for table in content.tables
        ],
    )
    rows = [
        (
            release_id,
            table.name,
            i,
            json.dumps(list(cell.key)),
            cell.value,
            cell.ci_low,
            cell.ci_high,
            cell.raw_noisy,
            cell.std_error,
            table.noise_scale,
            cell.estimate,
            cell.structural,
        )
        for table in content.tables
        for i, cell in enumerate(table.cells)
    ]
    _write_cells(connection, rows)
    _freeze_areas(connection, release_id)
    return release_id


def _freeze_areas(connection: Connection, release_id: str) -> None:
    """Keep the declared areas as they stand now with the release (in its transaction)."""
    columns = (Area.code, Area.level, Area.name, Area.parent_code, Area.population)
    connection.execute(
        insert(ReleaseArea).from_select(
            ["release_id", "code", "level", "name", "parent_code", "population"],
            select(literal(release_id), *columns),
        )
    )


_CELL_COLUMNS = (
    "release_id",
    "table_name",
    "position",
    "key",
    "published",
    "ci_low",
    "ci_high",
    "raw_noisy",
    "std_error",
    "noise_scale",
    "estimate",
    "structural",
)


def _write_cells(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """All the release's cells, in the open transaction: by COPY on PostgreSQL, whose
    driver's pipelined INSERTs cost a fixed tenth of a second a release, which mattered
    against aggregations of under a second (bench/release.py); by the driver's own
    executemany on SQLite, a third cheaper than SQLAlchemy's insert of a dict per cell."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        dbapi: Any = connection.connection.dbapi_connection
        statement = f"COPY {ReleaseCell.__tablename__} ({', '.join(_CELL_COLUMNS)}) FROM STDIN"
        driver_error = connection.dialect.loaded_dbapi.Error
        try:
            with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except driver_error as error:  # the driver's own error, as SQLAlchemy would raise it
            raise DBAPIError.instance(statement, None, error, driver_error) from error
        return
    connection.exec_driver_sql(
        f"INSERT INTO {ReleaseCell.__tablename__} ({', '.join(_CELL_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_CELL_COLUMNS))})",
        rows,
    )


def read_release(public: Engine, release_id: str) -> ReleaseContent | None:
    """The release with ``release_id`` as it was written, or None."""
    with public.connect() as connection:
        release = (
            connection.execute(select(Release).where(Release.id == release_id)).mappings().first()
        )
        if release is None:
            return None
        tables = []
        for table in connection.execute(
            select(ReleaseTable)
            .where(ReleaseTable.release_id == release_id)
            .order_by(ReleaseTable.name)
        ).mappings():
            cells = connection.execute(
                select(
                    ReleaseCell.key,
                    ReleaseCell.published,
                    ReleaseCell.ci_low,
                    ReleaseCell.ci_high,
                    ReleaseCell.raw_noisy,
                    ReleaseCell.std_error,
                    ReleaseCell.estimate,
                    ReleaseCell.structural,
                )
                .where(
                    ReleaseCell.release_id == release_id, ReleaseCell.table_name == table["name"]
                )
                .order_by(ReleaseCell.position)
            ).all()
            tables.append(
                PublishedTable(
                    name=table["name"],
                    title=table["title"],
                    source=table["source"],
                    dimensions=tuple(json.loads(table["dimensions"])),
                    level_of=table["level_of"],
                    mechanism=table["mechanism"],
                    noise_scale=table["noise_scale"],
                    rho=table["rho"],
                    epsilon=table["epsilon"],
                    delta=table["delta"],
                    cells=tuple(
                        PublishedCell(tuple(json.loads(k)), p, lo, hi, se, raw, est, bool(zero))
                        for k, p, lo, hi, raw, se, est, zero in cells
                    ),
                )
            )
    return ReleaseContent(
        period=release["period"],
        release_key=release["release_key"],
        policy_name=release["policy_name"],
        policy_version=release["policy_version"],
        policy_sha256=release["policy_sha256"],
        policy_text=release["policy_text"],
        budget_statement=json.loads(release["budget_statement"]),
        engine_version=release["engine_version"],
        tables=tuple(tables),
    )


def content_to_json(content: ReleaseContent) -> bytes:
    """``content`` as JSON, exactly as :func:`content_from_json` reads it back (a draft
    waits in the internal store in this form)."""
    return msgspec.json.encode(content)


def content_from_json(data: bytes) -> ReleaseContent:
    """The release content :func:`content_to_json` wrote."""
    return msgspec.json.decode(data, type=ReleaseContent)
