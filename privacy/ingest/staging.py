"""Write one batch's records, inside the caller's transaction, idempotent by source id.

Rows arrive in chunks and are written as they come (a few chunks a COPY on PostgreSQL),
so the database works while the next chunk is still being converted (see
:mod:`privacy.ingest.pipeline`). Rows whose ``(source, source_id)`` is already in the table
are skipped, so re-ingesting adds nothing. The line and id of every row go into a narrow
temporary table (only once a row has been turned away), where the database
finds ids that occur twice in the file; their rows are taken out of the batch again. A
refused batch rolls the transaction back, so nothing is left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import (
    Connection,
    Select,
    String,
    column,
    false,
    insert,
    select,
    table,
    text,
    type_coerce,
)

from privacy.ingest.copytext import CopyTarget, copy_records, ids_text
from privacy.ingest.pipeline import Converted
from privacy.schema import CanonicalField, FieldType
from privacy.store.models import InternalBase

STAGING = "ingest_staging"
IDS = "ingest_staged_ids"
DUPLICATED = "ingest_duplicated_ids"
# The ids that occur more than once in the file, as a group each: "SELECT ... " + this.
_REPEATED = f"FROM {IDS} GROUP BY source_id HAVING COUNT(*) > 1"


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
        self._records = InternalBase.metadata.tables[table]
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
        # The table of ids is filled only from the first row turned away: a first load
        # (the common large case) needs none, and every record keeps its line.
        self._keeping_ids = False
        # The first and last hour ("YYYY-MM-DD HH") of the rows handed over so far: the
        # batch's records lie in that range of the table's key, where _keep_ids reads them.
        self._hours: tuple[str, str] | None = None
        self._create_temporary(IDS, "line BIGINT, source_id VARCHAR")

    def append(self, chunk: Converted) -> None:
        """Add a converted chunk (rows ``(line, *values in schema order)``) to the batch."""
        self._pending.append(chunk)
        self._pending_rows += chunk.count
        if chunk.hours:
            first, last = min(chunk.hours), max(chunk.hours)
            if self._hours is not None:
                first, last = min(first, self._hours[0]), max(last, self._hours[1])
            self._hours = (first, last)
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
            text(f"SELECT COUNT(*) FROM (SELECT source_id {_REPEATED}) AS d")
        ).scalar_one()
        if not total:
            return 0, []
        first = (
            self.connection.execute(
                text(f"SELECT source_id {_REPEATED} ORDER BY MIN(line) LIMIT :limit"),
                {"limit": limit},
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

    def written(self, *names: str) -> Select[*tuple[Any, ...]]:
        """A query of the fields ``names`` (as the driver returns them) over the batch's
        records written so far. They are read from the range of the table's key (time
        first) that the batch's hours span, not from the whole table: the batch alone
        names them (all of one source; a condition on the source too would lead SQLite to
        walk the source's ids instead)."""
        records = self._records
        # As the driver gives them: a time is not parsed into a datetime only to be sliced.
        query = select(*(type_coerce(records.c[name], String) for name in names)).where(
            records.c.batch_id == self.batch_id
        )
        if self._hours is None:  # nothing handed over: nothing written
            return query.where(false())
        first = datetime.strptime(self._hours[0], "%Y-%m-%d %H")
        after = datetime.strptime(self._hours[1], "%Y-%m-%d %H") + timedelta(hours=1)
        return query.where(records.c.occurred_at >= first, records.c.occurred_at < after)

    def _keep_ids(self, before_line: int | None = None) -> None:
        """Start keeping the file's lines and ids: fill the table of ids with the batch's
        records written so far (those from lines before ``before_line``, when some of the
        current rows went in already), each with its line. Nothing was turned away until
        now, so they are all of the file's rows before."""
        if self.added:  # a re-ingest is turned away at once, with nothing to read back
            written = self.written("batch_line", "source_id")
            if before_line is not None:
                written = written.where(self._records.c.batch_line < before_line)
            ids = table(IDS, column("line"), column("source_id"))
            self.connection.execute(insert(ids).from_select(["line", "source_id"], written))
        self._keeping_ids = True

    def later_copies(self) -> int:
        """How many rows repeat an id of an earlier row of the file."""
        return int(
            self.connection.execute(
                text(f"SELECT COUNT(*) - COUNT(DISTINCT source_id) FROM {IDS}")
            ).scalar_one()
        )

    def drop_duplicate_ids(self) -> int:
        """Take every row whose source id occurs more than once in the file out of the
        batch (the first of them went in); return how many rows of the file that rejects.

        The repeated ids are kept in a table of their own, keyed: PostgreSQL, which does not
        yet know how many records the batch added, planned the removal as a loop over them
        that read every id of the file again for each (from about 20,000 rows a file).
        """
        self._create_temporary(DUPLICATED, "source_id VARCHAR PRIMARY KEY")
        self.connection.exec_driver_sql(
            f"INSERT INTO {DUPLICATED} (source_id) SELECT source_id {_REPEATED}"
        )
        if self.connection.dialect.name == "postgresql":
            self.connection.exec_driver_sql(f"ANALYZE {DUPLICATED}")
        removed = self.connection.execute(
            text(
                f"DELETE FROM {self.table} WHERE batch_id = :batch AND source = :source "
                f"AND source_id IN (SELECT source_id FROM {DUPLICATED})"
            ),
            {"batch": self.batch_id, "source": self.source},
        )
        self.added -= int(removed.rowcount)
        rejected = self.connection.execute(
            text(f"SELECT COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n {_REPEATED}) AS r")
        ).scalar_one()
        return int(rejected)

    def finish(self) -> int:
        """Drop the temporary tables; return how many rows the batch added."""
        self._flush()
        for name in (STAGING, IDS, DUPLICATED):
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
    """Insert each chunk straight into the records table, many rows a statement, with ON
    CONFLICT DO NOTHING; keep the file's lines and ids only once a row is turned away.

    Binding values row by row (``executemany``) cost as much as the rest of the write, and
    staging then moving paid for every row twice. A first load turns nothing away, so it
    needs no table of ids: every record keeps the line it came from, so the rows written
    before the first one turned away are read back from the records table.
    """

    flush_rows = 1
    # Rows a statement: 250 bind about 6,000 values, far below SQLite's limit of 32,766.
    rows_per_statement = 250

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
        self._width = len(fields)
        self._head = [source, batch_id]
        self._statements: dict[int, str] = {}
        self._stage_sql = f"INSERT INTO {STAGING} VALUES ({', '.join('?' * (len(fields) + 1))})"

    def _insert_sql(self, rows: int) -> str:
        """INSERT of ``rows`` rows: ?1 is the source and ?2 the batch on every row, then
        each field's ``rows`` values (a column after another), then each row's line; a row
        whose id is stored already is left out (DO NOTHING: the table's key holds the id
        too, so any conflict is of the id)."""
        if rows not in self._statements:
            width = self._width
            lines = 3 + rows * width
            values = ", ".join(
                f"(?1, ?2, ?{lines + r}, "
                + ", ".join(f"?{3 + j * rows + r}" for j in range(width))
                + ")"
                for r in range(rows)
            )
            self._statements[rows] = (
                f"INSERT INTO {self.table} (source, batch_id, batch_line, "
                f"{', '.join(self.names)}) VALUES {values} ON CONFLICT DO NOTHING"
            )
        return self._statements[rows]

    def _write(self, chunks: list[Converted]) -> None:
        cursor = self._dbapi().cursor()
        try:
            for chunk in chunks:
                self._write_chunk(cursor, chunk)
        finally:
            cursor.close()

    def _write_chunk(self, cursor: Any, chunk: Converted) -> None:
        step, added = self.rows_per_statement, 0
        for start in range(0, chunk.count, step):
            stop = min(start + step, chunk.count)
            bound = self._head.copy()
            for values in chunk.columns:
                bound += values[start:stop]
            bound += chunk.lines[start:stop]
            cursor.execute(self._insert_sql(stop - start), bound)
            added += cursor.rowcount
        self.added += added
        if added < chunk.count:
            self.turned_away += chunk.count - added
            if not self._keeping_ids:
                self._keep_ids(before_line=chunk.lines[0])
            cursor.executemany(self._stage_sql, chunk.rows())
            self._note_changed()
            cursor.execute(f"DELETE FROM {STAGING}")
        if self._keeping_ids:
            cursor.executemany(
                f"INSERT INTO {IDS} (line, source_id) VALUES (?, ?)",
                zip(chunk.lines, chunk.column(0), strict=True),
            )


class PostgresBatchWriter(BatchWriter):
    """COPY straight into the records table when nothing conflicts; through staging when
    something does.

    A first load of a source (the common large case) has no id in common with the table,
    so each flush tries a plain COPY into the records table inside a savepoint: constraints
    are checked once, as rows arrive. If an id is already there (a re-ingest, or an id
    repeated in the file) the savepoint is rolled back and that flush goes through staging
    with ON CONFLICT DO NOTHING. As on SQLite, the file's lines and ids are kept only from
    then on (those of the flushes before are read back from the records table): copying
    every id of a first load into a second table was a fifth of the server's work.
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
                ["source VARCHAR", "batch_id BIGINT", "batch_line BIGINT"]
                + [f"{f.name} {_sql_type(f)}" for f in fields]
            ),
        )
        self._listed = ", ".join(("source", "batch_id", "batch_line", *self.names))

    def _write(self, chunks: list[Converted]) -> None:
        records = "".join(
            chunk.copy if chunk.copy is not None else self._copy_records(chunk) for chunk in chunks
        )
        savepoint = self.connection.begin_nested()
        try:
            self._copy(f"COPY {self.table} ({self._listed}) FROM STDIN", records)
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            if not self._keeping_ids:
                self._keep_ids()  # every earlier flush went in whole
            self._copy(f"COPY {STAGING} ({self._listed}) FROM STDIN", records)
            moved = self.connection.exec_driver_sql(
                f"INSERT INTO {self.table} ({self._listed}) SELECT {self._listed} "
                f"FROM {STAGING} ON CONFLICT (source, source_id) DO NOTHING"
            )
            self.added += int(moved.rowcount)
            self.turned_away += sum(chunk.count for chunk in chunks) - int(moved.rowcount)
            self._note_changed()
            self.connection.exec_driver_sql(
                f"INSERT INTO {IDS} (line, source_id) SELECT batch_line, source_id FROM {STAGING}"
            )
            self.connection.exec_driver_sql(f"TRUNCATE {STAGING}")
        else:
            savepoint.commit()
            self.added += sum(chunk.count for chunk in chunks)
            if self._keeping_ids:
                self._copy(f"COPY {IDS} (line, source_id) FROM STDIN", ids_text(records))

    def _copy_records(self, chunk: Converted) -> str:
        return copy_records(chunk.lines, chunk.columns, self._target)

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
