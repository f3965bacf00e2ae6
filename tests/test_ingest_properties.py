"""Property tests: malformed files never write a partial batch, and --skip-invalid loads
exactly the valid rows and records exactly the rejected ones."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy import vocabulary as v
from privacy.ingest import IngestRefused, ingest_file, load_mapping
from tests.canonical import STOP_HEADER, stop_row
from tests.test_ingest_records import store_snapshot

STOPS = load_mapping("synthetic-stops")
CORRUPTIONS = (
    "bad_code",
    "bad_date",
    "ragged",
    "long_field",
    "blank_id",
    "bad_bytes",
    "duplicate_id",
)


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Engine]]:
    settings_ = Settings.for_directory(tmp_path_factory.mktemp("props"))
    upgrade_stores(settings_)
    internal, public = internal_engine(settings_), public_engine(settings_)
    yield internal, public
    internal.dispose()
    public.dispose()


@st.composite
def stop_files(draw: st.DrawFn) -> tuple[list[bytes], set[int]]:
    """Encoded CSV lines (header first) and the 0-based data rows that are invalid."""
    prefix = uuid.uuid4().hex[:8]  # fresh ids per example: nothing is "already present"
    count = draw(st.integers(min_value=1, max_value=25))
    rows = []
    for n in range(count):
        row = stop_row(
            n,
            source_id=f"{prefix}-{n}",
            subject_race=draw(st.sampled_from(v.SUBJECT_RACE)),
            outcome=draw(st.sampled_from(v.OUTCOME)),
        )
        rows.append([row[h] for h in STOP_HEADER])
    damaged = draw(
        st.dictionaries(st.integers(0, count - 1), st.sampled_from(CORRUPTIONS), max_size=count)
    )
    broken: set[int] = set()
    final_ids: list[str] = []
    raw_rows: list[bytes] = []
    for n, fields in enumerate(rows):
        corruption = damaged.get(n)
        if corruption == "bad_code":
            fields[STOP_HEADER.index("outcome")] = draw(
                st.text(min_size=1, max_size=8).filter(lambda s: s.strip() not in v.OUTCOME)
            )
        elif corruption == "bad_date":
            fields[1] = draw(st.sampled_from(["2024-13-01T00:00:00", "tomorrow", "", "1/2/3"]))
        elif corruption == "ragged":
            fields = fields[: draw(st.integers(1, len(fields) - 1))]
        elif corruption == "long_field":
            fields[STOP_HEADER.index("officer_key")] = "x" * 10_001
        elif corruption == "blank_id":
            fields[0] = "  "
        elif corruption == "duplicate_id":
            fields[0] = f"{prefix}-{draw(st.integers(0, count - 1))}"
        if corruption not in (None, "duplicate_id"):
            broken.add(n)
        final_ids.append(fields[0])
        line = _csv_line(fields)
        if corruption == "bad_bytes":
            line = line.replace(b"P0", b"P\xff0", 1) if b"P0" in line else line + b"\xff"
        raw_rows.append(line)
    # Rows that reach the staging table are compared for duplicate ids; every row that
    # carries a duplicated id is rejected.
    readable = [n for n in range(count) if n not in broken]
    duplicated = {n for n in readable if sum(final_ids[m] == final_ids[n] for m in readable) > 1}
    return [_csv_line(STOP_HEADER), *raw_rows], broken | duplicated


def _csv_line(fields: list[str]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue().encode("utf-8", "surrogateescape")


def _write(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(b"".join(lines))
    return path


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(stop_files())
def test_a_file_with_any_invalid_row_writes_nothing(
    engines: tuple[Engine, Engine], tmp_path: Path, case: tuple[list[bytes], set[int]]
) -> None:
    lines, invalid = case
    path = _write(tmp_path, lines)
    before = store_snapshot(engines[0])
    if invalid:
        with pytest.raises(IngestRefused):
            ingest_file(*engines, "stops", path, STOPS)
        assert store_snapshot(engines[0]) == before
    else:
        report = ingest_file(*engines, "stops", path, STOPS)
        assert report.rows_added == len(lines) - 1


@PROPERTY_SETTINGS
@given(stop_files())
def test_skip_invalid_loads_exactly_the_valid_rows(
    engines: tuple[Engine, Engine], tmp_path: Path, case: tuple[list[bytes], set[int]]
) -> None:
    lines, invalid = case
    path = _write(tmp_path, lines)
    valid_count = len(lines) - 1 - len(invalid)
    if valid_count == 0:
        with pytest.raises(IngestRefused, match="no row is valid"):
            ingest_file(*engines, "stops", path, STOPS, skip_invalid=True)
        return

    report = ingest_file(*engines, "stops", path, STOPS, skip_invalid=True)

    assert (report.rows_added, report.rows_rejected) == (valid_count, len(invalid))
    with engines[0].connect() as connection:
        stored = connection.execute(
            text("SELECT COUNT(*) FROM stops WHERE batch_id = :b"), {"b": report.batch_id}
        ).scalar_one()
    assert stored == valid_count
    assert {p.line for p in report.problems} == {_start_line(lines, n) for n in invalid}


def _start_line(lines: list[bytes], row: int) -> int:
    """The physical line a data row starts on: quoted cells may hold line breaks."""
    breaks = re.compile(rb"\r\n|\r|\n")
    return 1 + sum(len(breaks.findall(line)) for line in lines[: row + 1])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_cleanly_or_loaded(
    engines: tuple[Engine, Engine], tmp_path: Path, content: bytes
) -> None:
    path = _write(tmp_path, [b",".join(s.encode() for s in STOP_HEADER) + b"\n", content])
    before = store_snapshot(engines[0])
    try:
        ingest_file(*engines, "stops", path, STOPS)
    except IngestRefused:
        assert store_snapshot(engines[0]) == before
