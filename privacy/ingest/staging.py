"""A per-batch staging table: rows go in fast, are checked in SQL, then move in one statement.

Staging keeps memory flat (the database holds the rows, not Python), lets the database find
duplicate ids within the file, and makes the move into the records table a single
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` that is idempotent by source id. Everything
happens inside the caller's transaction, so a refused batch leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from privacy.schema import CanonicalField, FieldType

STAGING = "ingest_staging"


class Staging:
    """The staging table of one ingest, on one connection."""

    def __init__(self, connection: Connection, fields: Sequence[CanonicalField]) -> None:
        self.connection = connection
        self.fields = tuple(fields)
        self.names = tuple(f.name for f in self.fields)
        self.dialect = connection.dialect.name
        self._datetime_at = [i + 1 for i, f in enumerate(self.fields)
                             if f.type is FieldType.DATETIME]
        columns = ", ".join(["line BIGINT"] + [f"{f.name} {_sql_type(f)}" for f in self.fields])
        temporary = "TEMPORARY TABLE" if self.dialect != "sqlite" else "TEMP TABLE"
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGING}")
        connection.exec_driver_sql(f"CREATE {temporary} {STAGING} ({columns})")

    def append(self, rows: list[list[Any]]) -> None:
        """Add converted rows; each starts with its line number."""
        if not rows:
            return
        if self.dialect == "postgresql":
            self._copy(rows)
            return
        # SQLAlchemy's SQLite type stores datetimes as this exact text; write the same.
        for at in self._datetime_at:
            for row in rows:
                row[at] = _sqlite_datetime(row[at])
        marks = ", ".join("?" * (len(self.names) + 1))
        cursor = self._dbapi().cursor()
        try:
            cursor.executemany(f"INSERT INTO {STAGING} VALUES ({marks})", rows)
        finally:
            cursor.close()

    def _dbapi(self) -> Any:
        # The driver's own connection, inside the same transaction: its executemany and
        # COPY skip SQLAlchemy's per-row parameter handling, which would dominate here.
        dbapi = self.connection.connection.dbapi_connection
        assert dbapi is not None
        return dbapi

    def _copy(self, rows: list[list[Any]]) -> None:
        with self._dbapi().cursor() as cursor:
            columns = ", ".join(("line", *self.names))
            with cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def duplicate_ids(self, limit: int) -> tuple[int, list[tuple[str, list[int]]]]:
        """How many source ids occur more than once, and the first ``limit`` with their lines."""
        total = self.connection.execute(text(
            f"SELECT COUNT(*) FROM (SELECT source_id FROM {STAGING} GROUP BY source_id "
            "HAVING COUNT(*) > 1) AS d"
        )).scalar_one()
        if not total:
            return 0, []
        first = self.connection.execute(text(
            f"SELECT source_id FROM {STAGING} GROUP BY source_id HAVING COUNT(*) > 1 "
            "ORDER BY MIN(line) LIMIT :limit"
        ), {"limit": limit}).scalars().all()
        found = []
        for source_id in first:
            lines = self.connection.execute(text(
                f"SELECT line FROM {STAGING} WHERE source_id = :sid ORDER BY line"
            ), {"sid": source_id}).scalars().all()
            found.append((str(source_id), [int(n) for n in lines]))
        return int(total), found

    def drop_duplicate_ids(self) -> int:
        """Remove every row whose source id is not unique in the file; return how many."""
        result = self.connection.execute(text(
            f"DELETE FROM {STAGING} WHERE source_id IN (SELECT source_id FROM {STAGING} "
            "GROUP BY source_id HAVING COUNT(*) > 1)"
        ))
        return int(result.rowcount)

    def category_counts(self, names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Rows per value of each named column."""
        counts = {}
        for name in names:
            rows = self.connection.execute(text(
                f"SELECT {name}, COUNT(*) FROM {STAGING} GROUP BY {name} ORDER BY {name}"
            )).all()
            counts[name] = {str(value): int(n) for value, n in rows}
        return counts

    def count_new(self, table: str, source: str) -> int:
        """Rows whose source id is not yet in ``table``."""
        return int(self.connection.execute(text(
            f"SELECT COUNT(*) FROM {STAGING} s WHERE NOT EXISTS (SELECT 1 FROM {table} t "
            "WHERE t.source = :source AND t.source_id = s.source_id)"
        ), {"source": source}).scalar_one())

    def move_into(self, table: str, source: str, batch_id: int) -> int:
        """Insert the staged rows into ``table``, skipping source ids already there."""
        columns = ", ".join(self.names)
        result = self.connection.execute(text(
            f"INSERT INTO {table} (source, batch_id, {columns}) "
            f"SELECT :source, :batch_id, {columns} FROM {STAGING} WHERE true ORDER BY line "
            "ON CONFLICT (source, source_id) DO NOTHING"
        ), {"source": source, "batch_id": batch_id})
        return int(result.rowcount)

    def drop(self) -> None:
        """Drop the staging table (it is temporary anyway)."""
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGING}")


def _sql_type(field: CanonicalField) -> str:
    if field.type is FieldType.DATETIME:
        return "TIMESTAMP"
    if field.type is FieldType.FLOAT:
        return "DOUBLE PRECISION"
    return "VARCHAR"


def _sqlite_datetime(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(" ", "microseconds")
