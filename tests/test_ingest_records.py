"""Ingesting records: one file is one batch, whole or nothing, idempotent by source id.

Every test here runs on SQLite and on PostgreSQL (when it answers).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.store.models import AuditEvent, IngestBatch
from tests.canonical import STOP_HEADER, stop_row, write_csv, write_stops

STOPS = load_mapping("synthetic-stops")


def store_snapshot(internal: Engine) -> dict[str, int]:
    """Row counts of every internal table: equal snapshots mean nothing was written."""
    with internal.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("stops", "incidents", "force_events", "ingest_batches", "audit_log")
        }


def ingest(engines: tuple[Engine, Engine], path: Path, **options: bool):  # type: ignore[no-untyped-def]
    internal, public = engines
    return ingest_file(internal, public, "stops", path, STOPS, **options)


def test_a_valid_file_is_one_batch_and_reingesting_adds_nothing(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 301)])

    first = ingest(engines, path)
    again = ingest(engines, path)

    assert (first.rows_read, first.rows_added, first.rows_already_present) == (300, 300, 0)
    assert (again.rows_read, again.rows_added, again.rows_already_present) == (300, 0, 300)
    assert "300 already present" in again.summary()
    internal, _ = engines
    assert store_snapshot(internal)["stops"] == 300
    with internal.connect() as connection:
        batches = connection.execute(
            select(IngestBatch.rows_added, IngestBatch.rows_already_present).order_by(
                IngestBatch.id
            )
        ).all()
        assert [tuple(b) for b in batches] == [(300, 0), (0, 300)]
        assert connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 2


def test_values_arrive_in_the_canonical_schema(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    row = stop_row(
        7, occurred_at="2024-03-05T06:07:08", subject_race="hispanic", person_key="", lat=""
    )
    ingest(engines, write_stops(tmp_path / "one.csv", [row]))

    internal, _ = engines
    with internal.connect() as connection:
        stored = connection.execute(
            text("SELECT source, source_id, occurred_at, subject_race, person_key, lat FROM stops")
        ).one()
    assert stored.source == "synthetic-city"
    assert stored.source_id == "S000007"
    assert str(stored.occurred_at).startswith("2024-03-05 06:07:08")
    assert (stored.subject_race, stored.person_key, stored.lat) == ("hispanic", None, None)


def test_a_file_with_an_invalid_row_is_refused_whole(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = [stop_row(n) for n in range(1, 50)]
    rows[29] = stop_row(30, subject_race="purple")  # line 31 (the header is line 1)
    path = write_stops(tmp_path / "stops.csv", rows)
    before = store_snapshot(engines[0])

    with pytest.raises(IngestRefused) as refused:
        ingest(engines, path)

    message = str(refused.value)
    assert "line 31, column 'subject_race', value 'purple'" in message
    assert "code not known to the mapping" in message
    assert store_snapshot(engines[0]) == before


def test_skip_invalid_commits_the_valid_rows_and_records_the_rejected(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows: list[dict[str, str] | list[str]] = [stop_row(n) for n in range(1, 11)]
    rows[2] = stop_row(3, occurred_at="yesterday")  # line 4
    rows[5] = ["S000006", "2024-01-01T00:00:00"]  # line 7: ragged
    path = write_stops(tmp_path / "stops.csv", rows)

    report = ingest(engines, path, skip_invalid=True)

    assert (report.rows_read, report.rows_added, report.rows_rejected) == (10, 8, 2)
    internal, _ = engines
    with internal.connect() as connection:
        stored = json.loads(connection.execute(select(IngestBatch.report)).scalar_one())
        ids = set(connection.execute(text("SELECT source_id FROM stops")).scalars())
    assert [(r["line"], r["column"]) for r in stored["rejected"]] == [(4, "occurred_at"), (7, "")]
    assert "not a date" in stored["rejected"][0]["reason"]
    assert (
        f"the row has 2 fields but the header has {len(STOP_HEADER)}"
        in stored["rejected"][1]["reason"]
    )
    assert ids == {f"S{n:06d}" for n in range(1, 11)} - {"S000003", "S000006"}


def test_duplicate_ids_inside_a_file_are_refused_with_both_lines(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = [stop_row(n) for n in range(1, 6)] + [stop_row(2, outcome="arrest")]
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused) as refused:
        ingest(engines, path)

    message = str(refused.value)
    assert (
        "line 3, column 'source_id', value 'S000002': duplicate id inside the file (also on "
        "line 7)" in message
    )
    assert store_snapshot(engines[0])["stops"] == 0

    report = ingest(engines, path, skip_invalid=True)
    assert (report.rows_added, report.rows_rejected) == (4, 2)


def test_dry_run_reports_counts_per_category_and_writes_nothing(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = [stop_row(n) for n in range(1, 13)] + [stop_row(13, subject_race="teal")]
    path = write_stops(tmp_path / "stops.csv", rows)
    before = store_snapshot(engines[0])

    report = ingest(engines, path, dry_run=True)

    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (13, 12, 1)
    assert report.rows_added == 12
    assert report.category_counts["subject_race"] == {
        "black": 3,
        "hispanic": 3,
        "unknown": 3,
        "white": 3,
    }
    assert report.category_counts["outcome"] == {"citation": 4, "none": 4, "warning": 4}
    assert "would be accepted" in report.summary()
    assert store_snapshot(engines[0]) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty: expected a header row"),
        (",".join(STOP_HEADER).encode() + b"\n", "has a header but no data rows"),
        (
            b"source_id,when\nS1,2024-01-01T00:00:00\n",
            "lacks columns that mapping 'synthetic-stops' reads: 'occurred_at'",
        ),
    ],
    ids=["empty file", "header only", "missing column"],
)
def test_files_that_cannot_be_read_are_refused(
    engines: tuple[Engine, Engine], tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    with pytest.raises(IngestRefused, match=expected):
        ingest(engines, path)
    assert store_snapshot(engines[0])["ingest_batches"] == 0


def test_a_byte_order_mark_is_accepted_and_bad_bytes_are_reported(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    good = write_csv(tmp_path / "bom.csv", STOP_HEADER, [stop_row(1)], encoding="utf-8-sig")
    assert ingest(engines, good).rows_added == 1

    bad = write_stops(tmp_path / "latin.csv", [stop_row(2), stop_row(3)])
    bad.write_bytes(bad.read_bytes().replace(b"P0003", b"P\xe90003"))
    with pytest.raises(IngestRefused) as refused:
        ingest(engines, bad)
    assert "line 3, column 'person_key'" in str(refused.value)
    assert "not valid in the mapping's encoding" in str(refused.value)


def test_an_absurdly_long_field_is_reported_not_loaded(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = write_stops(tmp_path / "long.csv", [stop_row(1, officer_key="O" * 50_000)])

    with pytest.raises(IngestRefused) as refused:
        ingest(engines, path)
    assert "line 2, column 'officer_key'" in str(refused.value)
    assert "50,000 characters long; the mapping allows 10,000" in str(refused.value)


def test_only_the_first_twenty_problems_are_spelled_out(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = [stop_row(n, outcome="maybe") for n in range(1, 51)]
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused) as refused:
        ingest(engines, path)
    lines = str(refused.value).splitlines()
    assert sum(1 for line in lines if "value 'maybe'" in line) == 20
    assert lines[-1] == "... and 30 more problem(s)"


def test_a_dry_run_names_areas_the_releases_will_not_know(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    from tests.canonical import AREAS_HEADER, small_city_rows

    path = write_stops(
        tmp_path / "stops.csv", [stop_row(1), stop_row(2, beat="d9b9"), stop_row(3, beat="d9b9")]
    )
    before_areas = ingest(engines, path, dry_run=True)
    ingest_file(
        *engines,
        "areas",
        write_csv(tmp_path / "a.csv", AREAS_HEADER, small_city_rows()),
        load_mapping("synthetic-areas"),
    )

    after_areas = ingest(engines, path, dry_run=True)

    assert any("no beats are declared yet" in note for note in before_areas.notes)
    assert after_areas.notes == [
        "1 beat(s) used here are not among the declared areas and "
        "will count as unknown in releases: d9b9 (2)"
    ]
