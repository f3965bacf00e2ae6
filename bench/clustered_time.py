"""A records table clustered by time, against today's, on SQLite (issue 16, item 1).

    .venv/bin/python bench/clustered_time.py [--rows 1000000] [--rounds 2]

Inserts rows in random time order (as real exports arrive), 250 rows a statement as ingest
does, into (a) a rowid table with a unique id index and an index on time, the shape of
today's records tables, and (b) a WITHOUT ROWID table keyed by (time, source, source id)
with the same unique index; then times one quarter's count grouped by three columns on
each (best of three). The two tables are built side by side in each round. A sketch with
five columns, not the full records table.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

ROWS_PER_STATEMENT = 250
COLUMNS = (
    "source TEXT NOT NULL, batch_id INT NOT NULL, source_id TEXT NOT NULL, "
    "occurred_at TEXT NOT NULL, district TEXT, beat TEXT, category TEXT"
)
TODAY = (
    f"CREATE TABLE records (id INTEGER PRIMARY KEY, {COLUMNS}, UNIQUE (source, source_id))",
    "CREATE INDEX ix_records_time ON records (occurred_at)",
)
CLUSTERED = (
    f"CREATE TABLE records ({COLUMNS}, PRIMARY KEY (occurred_at, source, source_id)) WITHOUT ROWID",
    "CREATE UNIQUE INDEX ux_records_id ON records (source, source_id)",
)
QUARTER = (
    "SELECT district, beat, category, COUNT(*) FROM records "
    "WHERE occurred_at >= '2024-04-01' AND occurred_at < '2024-07-01' GROUP BY 1, 2, 3"
)

Row = tuple[str, str, str, str, str]


def random_rows(count: int) -> list[Row]:
    """Stops of one year in random time order."""
    chance = random.Random(1)
    rows = []
    for n in range(count):
        day = chance.randrange(365)
        moment = (
            f"2024-{1 + day // 31 % 12:02d}-{1 + day % 28:02d} "
            f"{chance.randrange(24):02d}:{chance.randrange(60):02d}:00.000000"
        )
        district = f"d{chance.randrange(10)}"
        rows.append(
            (f"S{n:08d}", moment, district, f"b{chance.randrange(100)}", chance.choice("abcdef"))
        )
    return rows


def load(path: Path, ddl: tuple[str, ...], rows: list[Row]) -> tuple[sqlite3.Connection, float]:
    """A database at ``path`` with ``ddl``, ``rows`` inserted; the seconds the insert took."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    for statement in ddl:
        connection.execute(statement)
    one = "('s', 1, ?, ?, ?, ?, ?)"
    insert = (
        "INSERT INTO records (source, batch_id, source_id, occurred_at, district, beat, "
        f"category) VALUES {', '.join([one] * ROWS_PER_STATEMENT)}"
    )
    started = time.perf_counter()
    for start in range(0, len(rows) - ROWS_PER_STATEMENT + 1, ROWS_PER_STATEMENT):
        values = [value for row in rows[start : start + ROWS_PER_STATEMENT] for value in row]
        connection.execute(insert, values)
    connection.commit()
    return connection, time.perf_counter() - started


def quarter_seconds(connection: sqlite3.Connection) -> float:
    """The best of three runs of one quarter's grouped count."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        connection.execute(QUARTER).fetchall()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = random_rows(args.rows)
    print(f"# {args.rows:,} rows in random time order")
    header = ("round", "insert today", "clustered", "quarter today", "clustered")
    print(
        "".join(f"{name:>{width}}" for name, width in zip(header, (5, 14, 11, 15, 11), strict=True))
    )
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(1, args.rounds + 1):
            today, today_s = load(Path(tmp) / f"today-{round_number}.db", TODAY, rows)
            clustered, clustered_s = load(
                Path(tmp) / f"clustered-{round_number}.db", CLUSTERED, rows
            )
            print(
                f"{round_number:>5}{today_s:14.2f}{clustered_s:11.2f}"
                f"{quarter_seconds(today):15.3f}{quarter_seconds(clustered):11.3f}"
            )
            today.close()
            clustered.close()


if __name__ == "__main__":
    main()
