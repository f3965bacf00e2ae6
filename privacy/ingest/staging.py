"""Write one batch's records through a staging table, inside the caller's transaction.

Each chunk is staged through the driver's fastest path (``executemany`` on SQLite, ``COPY``
on PostgreSQL) and moved into the records table at once with an anti-join on
``(source, source_id)``, so re-ingesting adds nothing. Moving chunk by chunk lets the
database work while the next chunk is still being converted (see
:mod:`privacy.ingest.pipeline`). The ids of every staged row are kept in a narrow second
table, where the database finds ids that occur twice in the file; their rows are taken out
of the batch again. A refused batch rolls the transaction back, so nothing is left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from privacy.ingest.copytext import copy_text
from privacy.ingest.pipeline import Converted
from privacy.schema import CanonicalField, FieldType

STAGING = "ingest_staging"
IDS = "ingest_staged_ids"
_DUPLICATED = f"SELECT source_id FROM {IDS} GROUP BY source_id HAVING COUNT(*) > 1"


class BatchWriter(ABC):
    """What both writers share: the staging tables, the move and the duplicate checks."""

    def __init__(self, connection: Connection, table: str, source: str, batch_id: int,
                 fields: Sequence[CanonicalField]) -> None:
        self.connection = connection
        self.table = table
        self.source = source
        self.batch_id = batch_id
        self.names = tuple(f.name for f in fields)
        self.added = 0
        self._pending: list[Converted] = []
        self._pending_rows = 0
        columns = ", ".join(["line BIGINT"] + [f"{f.name} {_sql_type(f)}" for f in fields])
        for name, definition in ((STAGING, columns), (IDS, "line BIGINT, source_id VARCHAR")):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
            connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({definition})")
        listed = ", ".join(self.names)
        # ON CONFLICT keeps the first row of an id seen twice within a chunk, and uses the
        # unique index for each row (an anti-join per chunk made PostgreSQL scan the whole
        # growing table each time). "WHERE true" keeps SQLite from reading ON as a join's.
        self._move = text(
            f"INSERT INTO {table} (source, batch_id, {listed}) "
            f"SELECT :source, :batch_id, {listed} FROM {STAGING} WHERE true "
            "ON CONFLICT (source, source_id) DO NOTHING"
        )

    @abstractmethod
    def _stage(self, chunks: list[Converted]) -> None:
        """Put the chunks' rows into the staging table."""

    # Rows per staging round trip; subclasses tune it to their database.
    flush_rows = 5_000
    # Whether the writer takes chunks already formatted as PostgreSQL COPY text.
    accepts_copy_text = False

    def append(self, chunk: Converted) -> None:
        """Add a converted chunk (rows ``(line, *values in schema order)``) to the batch."""
        self._pending.append(chunk)
        self._pending_rows += chunk.count
        if self._pending_rows >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        chunks, self._pending, self._pending_rows = self._pending, [], 0
        if not chunks:
            return
        self._stage(chunks)
        result = self.connection.execute(
            self._move, {"source": self.source, "batch_id": self.batch_id})
        self.added += int(result.rowcount)
        self.connection.exec_driver_sql(
            f"INSERT INTO {IDS} (line, source_id) SELECT line, source_id FROM {STAGING}")
        self._empty_staging()

    def _empty_staging(self) -> None:
        # SQLite turns an unqualified DELETE into a truncation.
        self.connection.exec_driver_sql(f"DELETE FROM {STAGING}")

    def duplicate_ids(self, limit: int) -> tuple[int, list[tuple[str, list[int]]]]:
        """How many source ids occur more than once, and the first ``limit`` with their lines."""
        self._flush()
        total = self.connection.execute(
            text(f"SELECT COUNT(*) FROM ({_DUPLICATED}) AS d")).scalar_one()
        if not total:
            return 0, []
        first = self.connection.execute(text(
            f"{_DUPLICATED} ORDER BY MIN(line) LIMIT :limit"), {"limit": limit}).scalars().all()
        found = []
        for source_id in first:
            lines = self.connection.execute(text(
                f"SELECT line FROM {IDS} WHERE source_id = :sid ORDER BY line"
            ), {"sid": source_id}).scalars().all()
            found.append((str(source_id), [int(n) for n in lines]))
        return int(total), found

    def drop_duplicate_ids(self) -> int:
        """Take every row whose source id occurs more than once in the file out of the
        batch (the first of them went in); return how many rows of the file that rejects."""
        removed = self.connection.execute(text(
            f"DELETE FROM {self.table} WHERE batch_id = :batch AND source = :source "
            f"AND source_id IN ({_DUPLICATED})"
        ), {"batch": self.batch_id, "source": self.source})
        self.added -= int(removed.rowcount)
        rejected = self.connection.execute(text(
            f"SELECT COUNT(*) FROM {IDS} WHERE source_id IN ({_DUPLICATED})")).scalar_one()
        return int(rejected)

    def finish(self) -> int:
        """Drop the staging tables; return how many rows the batch added."""
        self._flush()
        for name in (STAGING, IDS):
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        return self.added

    def _dbapi(self) -> Any:
        # The driver's own connection, inside the same transaction: its executemany and
        # COPY skip SQLAlchemy's per-row parameter handling, which would dominate here.
        dbapi = self.connection.connection.dbapi_connection
        assert dbapi is not None
        return dbapi


class SqliteBatchWriter(BatchWriter):
    """Stage rows with the driver's ``executemany``."""

    def _stage(self, chunks: list[Converted]) -> None:
        marks = ", ".join(["?"] * (len(self.names) + 1))
        cursor = self._dbapi().cursor()
        try:
            for chunk in chunks:
                cursor.executemany(f"INSERT INTO {STAGING} VALUES ({marks})", chunk.rows)
        finally:
            cursor.close()


class PostgresBatchWriter(BatchWriter):
    """Stage rows with ``COPY``."""

    # Each round trip costs a COPY, a move and a TRUNCATE: fewer, larger ones.
    flush_rows = 50_000
    accepts_copy_text = True

    def _stage(self, chunks: list[Converted]) -> None:
        copy_sql = f"COPY {STAGING} (line, {', '.join(self.names)}) FROM STDIN"
        with self._dbapi().cursor() as cursor, cursor.copy(copy_sql) as copy:
            for chunk in chunks:
                copy.write(chunk.copy_text if chunk.copy_text is not None
                           else copy_text(chunk.rows))

    def _empty_staging(self) -> None:
        # DELETE would leave dead rows for every later chunk's scan to step over.
        self.connection.exec_driver_sql(f"TRUNCATE {STAGING}")


def batch_writer(connection: Connection, table: str, source: str, batch_id: int,
                 fields: Sequence[CanonicalField]) -> BatchWriter:
    """The writer for the connection's database."""
    if connection.dialect.name == "postgresql":
        return PostgresBatchWriter(connection, table, source, batch_id, fields)
    return SqliteBatchWriter(connection, table, source, batch_id, fields)


def _sql_type(field: CanonicalField) -> str:
    if field.type is FieldType.DATETIME:
        return "TIMESTAMP"
    if field.type is FieldType.FLOAT:
        return "DOUBLE PRECISION"
    return "VARCHAR"
