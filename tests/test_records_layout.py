"""Records are keyed by time: a release reads its period, whatever order a file came in.

Real exports are often in no time order (sorted by id, by officer, or not at all). The
records tables are keyed by (occurred_at, source, source_id); on SQLite they are stored in
that order, so a quarter's records lie together, and on both stores a quarter is read as a
range of that key.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from privacy.ingest import ingest_file, load_mapping
from privacy.ingest.report import IngestRefused
from privacy.release.periods import Quarter
from tests.canonical import stop_row, write_stops

Q3 = Quarter.parse("2024Q3")


def _shuffled_file(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    rows = [stop_row(n) for n in range(300)]  # a year of stops
    random.Random(7).shuffle(rows)
    return write_stops(tmp_path / "stops.csv", rows), rows


def test_a_file_in_no_time_order_is_stored_in_time_order(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, rows = _shuffled_file(tmp_path)
    report = ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
    assert report.rows_added == len(rows)
    with internal.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Read with no ORDER BY, the table comes back in the order it is stored.
            stored = connection.execute(text("SELECT occurred_at FROM stops")).scalars().all()
            assert stored == sorted(stored)
            plan = connection.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT district, COUNT(*) FROM stops "
                    "WHERE occurred_at >= :start AND occurred_at < :end GROUP BY district"
                ),
                {"start": str(Q3.start), "end": str(Q3.end)},
            ).all()
            assert "SEARCH stops USING PRIMARY KEY (occurred_at>? AND occurred_at<?)" in [
                row[-1] for row in plan
            ]
        else:
            connection.execute(text("SET enable_seqscan = off"))
            plan = connection.execute(
                text(
                    "EXPLAIN SELECT district, COUNT(*) FROM stops "
                    "WHERE occurred_at >= :start AND occurred_at < :end GROUP BY district"
                ),
                {"start": Q3.start, "end": Q3.end},
            ).scalars()
            assert any("pk_stops" in line for line in plan)


def test_ingesting_the_file_again_adds_nothing_and_keeps_the_lines_of_repeated_ids(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    """The key holds the id: a second ingest of the same records is turned away whole, and
    an id the file repeats is still named with both its lines."""
    internal, public = engines
    path, rows = _shuffled_file(tmp_path)
    mapping = load_mapping("synthetic-stops")
    ingest_file(internal, public, "stops", path, mapping)
    again = ingest_file(internal, public, "stops", path, mapping)
    assert (again.rows_added, again.rows_already_present) == (0, len(rows))

    repeated = write_stops(
        tmp_path / "repeated.csv", [stop_row(1000), stop_row(1001), stop_row(1000)]
    )
    with pytest.raises(IngestRefused) as refused:
        ingest_file(internal, public, "stops", repeated, mapping)
    assert "line 2, column 'source_id', value 'S001000': duplicate id inside the file " in str(
        refused.value
    )
    assert "(also on line 4)" in str(refused.value)
