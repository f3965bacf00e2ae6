"""Write one batch's records, inside the caller's transaction, idempotent by source id.

Rows arrive in chunks and are written a flush (some thousands of rows) at a time, so the
database works while the next chunk is still being converted (see
:mod:`privacy.ingest.pipeline`). Rows whose ``(source, source_id)`` is already in the table
are skipped, so re-ingesting adds nothing. The line and id of every row go into a narrow
temporary table, where the database finds ids that occur twice in the file; their rows are
taken out of the batch again. A refused batch rolls the transaction back, so nothing is
left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from privacy.ingest.copytext import CopyTarget, copy_blocks
from privacy.ingest.pipeline import Converted
from privacy.schema import CanonicalField, FieldType

STAGING = "ingest_staging"
IDS = "ingest_staged_ids"
_DUPLICATED = f"SELECT source_id FROM {IDS} GROUP BY source_id HAVING COUNT(*) > 1"


class BatchWriter(ABC):
    """What both writers share: buffering, the id table and the duplicate checks."""

    # Rows per round trip to the database; subclasses tune it.
    flush_rows = 5_000
    # The source and batch that chunks formatted as PostgreSQL COPY text must carry, for a
    # writer that takes them.
    copy_target: CopyTarget | None = None

    def __init__(
        self,
        connection: Connection,
        table: str,
        source: str,
        batch_id: int,
        fields: Sequence[CanonicalField],
    ) -> None:
        self.connection = connection
        self.table = table
        self.source = source
        self.batch_id = batch_id
        self.names = tuple(f.name for f in fields)
        # Rows whose id an earlier batch stored with another time: (id, stored, this file's).
        self.changed = 0
        self.changed_examples: list[tuple[str, str, str]] = []
        self.added = 0
        # Rows the records table turned away (their id was stored already, by an earlier
        # batch or earlier in this file). None turned away means no id repeats in the file.
        self.turned_away = 0
        self._pending: list[Converted] = []
        self._pending_rows = 0
        self._create_temporary(IDS, "line BIGINT, source_id VARCHAR")

    def append(self, chunk: Converted) -> None:
        """Add a converted chunk (rows ``(line, *values in schema order)``) to the batch."""
        self._pending.append(chunk)
        self._pending_rows += chunk.count
        if self._pending_rows >= self.flush_rows:
            self._flush()

    def _flush(self) -> None:
        chunks, self._pending, self._pending_rows = self._pending, [], 0
        if any(chunk.count for chunk in chunks):
            self._write(chunks)

    @abstractmethod
    def _write(self, chunks: list[Converted]) -> None:
        """Write the chunks' records (adding to ``self.added``) and their ids."""

    def duplicate_ids(self, limit: int) -> tuple[int, list[tuple[str, list[int]]]]:
        """How many source ids occur more than once, and the first ``limit`` with their lines."""
        self._flush()
        if not self.turned_away:  # a repeated id would have been turned away
            return 0, []
        total = self.connection.execute(
            text(f"SELECT COUNT(*) FROM ({_DUPLICATED}) AS d")
        ).scalar_one()
        if not total:
            return 0, []
        first = (
            self.connection.execute(
                text(f"{_DUPLICATED} ORDER BY MIN(line) LIMIT :limit"), {"limit": limit}
            )
            .scalars()
            .all()
        )
        found = []
        for source_id in first:
            lines = (
                self.connection.execute(
                    text(f"SELECT line FROM {IDS} WHERE source_id = :sid ORDER BY line"),
                    {"sid": source_id},
                )
                .scalars()
                .all()
            )
            found.append((str(source_id), [int(n) for n in lines]))
        return int(total), found

    def _note_changed(self) -> None:
        """Count the staged rows whose id is stored from an earlier batch with another time:
        ON CONFLICT left them out as already present, but they are not the same record."""
        found = self.connection.execute(
            text(
                f"SELECT s.source_id, t.occurred_at, s.occurred_at FROM {STAGING} s "
                f"JOIN {self.table} t ON t.source = :source AND t.source_id = s.source_id "
                "WHERE t.batch_id <> :batch AND t.occurred_at <> s.occurred_at"
            ),
            {"source": self.source, "batch": self.batch_id},
        ).all()
        self.changed += len(found)
        room = 3 - len(self.changed_examples)
        self.changed_examples += [(str(a), str(b), str(c)) for a, b, c in found[:room]]

    def later_copies(self) -> int:
        """How many rows repeat an id of an earlier row of the file."""
        return int(
            self.connection.execute(
                text(f"SELECT COUNT(*) - COUNT(DISTINCT source_id) FROM {IDS}")
            ).scalar_one()
        )

    def drop_duplicate_ids(self) -> int:
        """Take every row whose source id occurs more than once in the file out of the
        batch (the first of them went in); return how many rows of the file that rejects."""
        removed = self.connection.execute(
            text(
                f"DELETE FROM {self.table} WHERE batch_id = :batch AND source = :source "
                f"AND source_id IN ({_DUPLICATED})"
            ),
            {"batch": self.batch_id, "source": self.source},
        )
        self.added -= int(removed.rowcount)
        rejected = self.connection.execute(
            text(f"SELECT COUNT(*) FROM {IDS} WHERE source_id IN ({_DUPLICATED})")
        ).scalar_one()
        return int(rejected)

    def finish(self) -> int:
        """Drop the temporary tables; return how many rows the batch added."""
        self._flush()
        for name in (STAGING, IDS):
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        return self.added

    def _create_temporary(self, name: str, definition: str) -> None:
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        self.connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({definition})")

    def _dbapi(self) -> Any:
        # The driver's own connection, inside the same transaction: its executemany and
        # COPY skip SQLAlchemy's per-row parameter handling, which would dominate here.
        dbapi = self.connection.connection.dbapi_connection
        assert dbapi is not None
        return dbapi


class SqliteBatchWriter(BatchWriter):
    """Stage with the driver's ``executemany``, then move with ON CONFLICT DO NOTHING.

    Staging then moving measured faster than inserting into the indexed table row by row.
    """

    def __init__(
        self,
        connection: Connection,
        table: str,
        source: str,
        batch_id: int,
        fields: Sequence[CanonicalField],
    ) -> None:
        super().__init__(connection, table, source, batch_id, fields)
        self._create_temporary(
            STAGING, ", ".join(["line BIGINT"] + [f"{f.name} {_sql_type(f)}" for f in fields])
        )
        listed = ", ".join(self.names)
        self._stage_sql = f"INSERT INTO {STAGING} VALUES ({', '.join('?' * (len(fields) + 1))})"
        # ON CONFLICT keeps the first row of an id seen twice; "WHERE true" keeps SQLite
        # from reading ON as part of a join.
        self._move = text(
            f"INSERT INTO {table} (source, batch_id, {listed}) "
            f"SELECT :source, :batch_id, {listed} FROM {STAGING} WHERE true "
            "ON CONFLICT (source, source_id) DO NOTHING"
        )

    def _write(self, chunks: list[Converted]) -> None:
        cursor = self._dbapi().cursor()
        try:
            for chunk in chunks:
                cursor.executemany(self._stage_sql, chunk.rows)
        finally:
            cursor.close()
        moved = self.connection.execute(
            self._move, {"source": self.source, "batch_id": self.batch_id}
        )
        self.added += int(moved.rowcount)
        staged = sum(chunk.count for chunk in chunks)
        if moved.rowcount < staged:
            self.turned_away += staged - int(moved.rowcount)
            self._note_changed()
        self.connection.exec_driver_sql(
            f"INSERT INTO {IDS} (line, source_id) SELECT line, source_id FROM {STAGING}"
        )
        self.connection.exec_driver_sql(f"DELETE FROM {STAGING}")  # a truncation in SQLite


class PostgresBatchWriter(BatchWriter):
    """COPY straight into the records table when nothing conflicts; through staging when
    something does.

    A first load of a source (the common large case) has no id in common with the table,
    so each flush tries a plain COPY into the records table inside a savepoint: constraints
    are checked once, as rows arrive. If an id is already there (a re-ingest, or an id
    repeated in the file) the savepoint is rolled back and that flush goes through staging
    with ON CONFLICT DO NOTHING.
    """

    flush_rows = 20_000

    def __init__(
        self,
        connection: Connection,
        table: str,
        source: str,
        batch_id: int,
        fields: Sequence[CanonicalField],
    ) -> None:
        super().__init__(connection, table, source, batch_id, fields)
        self.copy_target = target = CopyTarget(source, batch_id)
        self._target = target
        self._create_temporary(
            STAGING,
            ", ".join(
                ["source VARCHAR", "batch_id BIGINT"] + [f"{f.name} {_sql_type(f)}" for f in fields]
            ),
        )
        self._listed = ", ".join(("source", "batch_id", *self.names))

    def _write(self, chunks: list[Converted]) -> None:
        blocks = [chunk.copy or copy_blocks(chunk.rows, self._target) for chunk in chunks]
        records = "".join(block.records for block in blocks)
        savepoint = self.connection.begin_nested()
        try:
            self._copy(f"COPY {self.table} ({self._listed}) FROM STDIN", records)
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            self._copy(f"COPY {STAGING} ({self._listed}) FROM STDIN", records)
            moved = self.connection.exec_driver_sql(
                f"INSERT INTO {self.table} ({self._listed}) SELECT {self._listed} "
                f"FROM {STAGING} ON CONFLICT (source, source_id) DO NOTHING"
            )
            self.added += int(moved.rowcount)
            self.turned_away += sum(chunk.count for chunk in chunks) - int(moved.rowcount)
            self._note_changed()
            self.connection.exec_driver_sql(f"TRUNCATE {STAGING}")
        else:
            savepoint.commit()
            self.added += sum(chunk.count for chunk in chunks)
        self._copy(
            f"COPY {IDS} (line, source_id) FROM STDIN", "".join(block.ids for block in blocks)
        )

    def _copy(self, statement: str, data: str) -> None:
        with self._dbapi().cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(data)


def batch_writer(
    connection: Connection, table: str, source: str, batch_id: int, fields: Sequence[CanonicalField]
) -> BatchWriter:
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
