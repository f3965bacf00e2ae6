"""The fast paths of ingest give exactly what the plain path gives.

Large files are converted a column at a time, in a worker process, and written to
PostgreSQL as COPY text; every one of those is checked here against the row-by-row
reference path on the same input.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import pickle
import re
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text

from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy import vocabulary as v
from privacy.ingest import IngestRefused, ingest_file, load_mapping, pipeline
from privacy.ingest.columns import ColumnConverter
from privacy.ingest.convert import RowConverter, RowErrors
from privacy.ingest.copytext import CopyTarget, copy_records, copy_text, ids_text
from privacy.ingest.pipeline import converted_stream
from privacy.ingest.reader import CsvSource
from privacy.ingest.report import IngestReport
from privacy.ingest.rows import converted_chunks
from privacy.ingest.staging import PostgresBatchWriter
from tests.canonical import STOP_HEADER, stop_row, write_stops
from tests.conftest import FIXTURES

MINNEAPOLIS_HEADER = [
    "rownames",
    "idNum",
    "date",
    "problem",
    "MDC",
    "citationIssued",
    "personSearch",
    "vehicleSearch",
    "preRace",
    "race",
    "gender",
    "lat",
    "long",
    "policePrecinct",
    "neighborhood",
]


def stream(
    path: Path,
    mapping: str,
    *,
    parallel: bool,
    as_copy: CopyTarget | None = None,
) -> tuple[list[Any], IngestReport]:
    chosen = load_mapping(mapping)
    report = IngestReport(
        kind=chosen.kind, mapping=chosen.name, file_name=path.name, dry_run=False, skip_invalid=True
    )
    with CsvSource(path, encoding=chosen.encoding) as source:
        converter = RowConverter(chosen, source.header, datetime_as_text=True)
        chunks = list(
            converted_stream(source, converter, report, parallel=parallel, as_copy=as_copy)
        )
    if as_copy:
        return ["".join(c.copy for c in chunks if c.copy)], report
    return [row for c in chunks for row in c.rows()], report


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("mpls_stops_2017_excerpt.csv", "minneapolis-stops"),
        ("mpls_police_incidents_2017_excerpt.csv", "minneapolis-incidents"),
        ("ca_oakland_2020_04_01_SHORT.csv", "stanford-opp"),
    ],
)
def test_the_worker_process_converts_exactly_as_in_process(name: str, mapping: str) -> None:
    path = FIXTURES / name

    here, here_report = stream(path, mapping, parallel=False)
    there, there_report = stream(path, mapping, parallel=True)
    target = CopyTarget("a source", 7)
    copied_here, _ = stream(path, mapping, parallel=False, as_copy=target)
    copied, _ = stream(path, mapping, parallel=True, as_copy=target)

    assert there == here
    assert copied == copied_here
    # The same COPY text as the rows formatted afresh, but where a number keeps the text
    # it was written with: the same double when read.
    columns = list(zip(*here, strict=True))
    records = copy_records(columns[0], columns[1:], target)
    assert ids_text(copied[0]) == copy_text([row[:2] for row in here])
    assert [_read_copy(line) for line in copied[0].split("\n")] == [
        _read_copy(line) for line in records.split("\n")
    ]
    assert [str(p) for p in there_report.sorted_problems()] == [
        str(p) for p in here_report.sorted_problems()
    ]
    assert (there_report.rows_read, there_report.rows_rejected, there_report.file_sha256) == (
        here_report.rows_read,
        here_report.rows_rejected,
        here_report.file_sha256,
    )


def test_a_worker_failure_reaches_the_caller(tmp_path: Path) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(1)])
    path.write_bytes(path.read_bytes() + b'S2,"' + b"x" * (17 * 1024 * 1024) + b'"\n')
    # Another library lifted the process's csv limit (frictionless does, when imported).
    earlier = csv.field_size_limit(2**31 - 1)
    try:
        for parallel in (False, True):
            with pytest.raises(Exception, match="not readable as CSV"):
                stream(path, "synthetic-stops", parallel=parallel)
    finally:
        csv.field_size_limit(earlier)


source_cells = st.fixed_dictionaries(
    {
        "idNum": st.sampled_from(["17-000001", "17-000002", " 17-9 ", "", "17-\x00", "\ud800"]),
        "date": st.sampled_from(
            [
                "2017-01-01T06:00:42Z",
                "2017-07-04T23:59:59Z",
                "2017-03-12T08:30:00Z",
                "not a date",
                "1850-01-01T00:00:00Z",
            ]
        ),
        "problem": st.sampled_from(["traffic", "suspicious", " traffic ", "parade"]),
        "citationIssued": st.sampled_from(["YES", "NO", "", "MAYBE"]),
        "personSearch": st.sampled_from(["YES", "NO", ""]),
        "vehicleSearch": st.sampled_from(["YES", "NO", "", "PERHAPS"]),
        "race": st.sampled_from(["White", "Black", "East African", "", "Unknown", "Martian"]),
        "gender": st.sampled_from(["Male", "Female", "Unknown", ""]),
        "lat": st.sampled_from(["44.9", "", "nan", "north", "45"]),
        "long": st.sampled_from(["-93.2", "", "-93", "inf"]),
        "policePrecinct": st.sampled_from(["1", "5", "", "=1", "P 1", "1\x00", "-1", "x" * 65]),
        "neighborhood": st.sampled_from(
            ["Cedar Riverside", "Steven's Square - Loring Heights", "", "N\x00", "???", "=A"]
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(source_cells, min_size=1, max_size=12))
def test_column_conversion_agrees_with_row_conversion(cells: list[dict[str, str]]) -> None:
    mapping = load_mapping("minneapolis-stops")
    rows = [[c.get(h, "x") for h in MINNEAPOLIS_HEADER] for c in cells]
    lines = list(range(2, 2 + len(rows)))
    row_converter = RowConverter(mapping, MINNEAPOLIS_HEADER, datetime_as_text=True)

    fast = ColumnConverter(row_converter).convert(lines, rows)

    reference = []
    for line, row in zip(lines, rows, strict=True):
        try:
            reference.append((line, *row_converter.convert(row)))
        except RowErrors:
            reference = None
            break
    if reference is None:
        assert fast is None  # any bad row sends the chunk to the row path
    else:
        assert fast is None or fast == reference


canonical_cells = st.fixed_dictionaries(
    {
        "source_id": st.sampled_from(["S1", "S2", "S\x003", "\udc00", "  S4  "]),
        "district": st.sampled_from(["d1", "d2", "", "=d1", "d 1", "d1\x00", "@d", "d1.x_y-z"]),
        "beat": st.sampled_from(["d1b1", "d1b2", "+b", "b\tb", "b\u00e9", "unknown"]),
        "person_key": st.sampled_from(["P1", "", "P\x00", "P\ud83d", "P\U0001f600", "\\."]),
        "officer_key": st.text(max_size=4),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(canonical_cells, min_size=1, max_size=12))
def test_column_conversion_agrees_with_row_conversion_on_text_and_codes(
    cells: list[dict[str, str]],
) -> None:
    # Text fields, optional keys and area codes read without a transform take the column
    # path's own plans; NUL, lone surrogates and unsafe area codes must send a chunk to
    # the row path, never through.
    row_converter = RowConverter(load_mapping("synthetic-stops"), STOP_HEADER)
    rows = [[{**stop_row(n), **c}[h] for h in STOP_HEADER] for n, c in enumerate(cells)]
    lines = list(range(2, 2 + len(rows)))

    fast = ColumnConverter(row_converter).convert(lines, rows)

    reference = []
    for line, row in zip(lines, rows, strict=True):
        try:
            reference.append((line, *row_converter.convert(row)))
        except RowErrors:
            reference = None
            break
    if reference is None:
        assert fast is None
    else:
        assert fast is None or fast == reference


def test_copy_text_escapes_what_copy_would_misread() -> None:
    rows = [
        (2, "a\tb", None, 2.5, datetime(2024, 1, 2, 3, 4, 5)),
        (3, "back\\slash\nnewline", "x", None, datetime(2024, 1, 2)),
    ]

    assert copy_text(rows) == (
        "2\ta\\tb\t\\N\t2.5\t2024-01-02T03:04:05\n"
        "3\tback\\\\slash\\nnewline\tx\t\\N\t2024-01-02T00:00:00\n"
    )


def test_the_ids_of_copy_text_are_cut_from_its_records_whatever_they_hold() -> None:
    awkward = ["tab\there", "back\\slash", "line\nbreak", "para\u2028graph", "sep\x1crecord", ""]
    rows = [(n, awkward[n % len(awkward)], f"v{n}", None) for n in range(12)]
    columns = list(zip(*rows, strict=True))

    records = copy_records(columns[0], columns[1:], CopyTarget("a\tsource", 3))

    assert ids_text(records) == copy_text([row[:2] for row in rows])
    assert ids_text("") == ""


def test_ids_kept_after_a_row_already_present_find_a_later_duplicate(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second flush turns away a row stored by an earlier batch, so the writer keeps ids
    # from then on; the next flushes go in whole, and their ids are cut from their COPY
    # text. One of them must be found again when the last flush repeats it.
    monkeypatch.setattr(PostgresBatchWriter, "flush_rows", 500)
    earlier = write_stops(tmp_path / "earlier.csv", [stop_row(700)])
    ingest_file(*engines, "stops", earlier, load_mapping("synthetic-stops"))
    rows = [stop_row(n) for n in range(1, 2501)]
    rows[2399] = stop_row(1600)  # line 2401 repeats line 1601, in the flush after its own
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"))

    assert (
        "line 1601, column 'source_id', value 'S001600': duplicate id inside the file "
        "(also on line 2401)" in str(refused.value)
    )


def test_duplicates_in_different_chunks_are_found(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = [stop_row(n) for n in range(1, 2501)]
    rows[2399] = stop_row(10)  # line 2401 repeats line 11, two chunks apart
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"), parallel=True)
    assert (
        "line 11, column 'source_id', value 'S000010': duplicate id inside the file "
        "(also on line 2401)" in str(refused.value)
    )

    report = ingest_file(
        *engines, "stops", path, load_mapping("synthetic-stops"), parallel=True, skip_invalid=True
    )
    assert (report.rows_added, report.rows_rejected) == (2498, 2)
    with engines[0].connect() as connection:
        assert (
            connection.execute(
                text("SELECT COUNT(*) FROM stops WHERE source_id = 'S000010'")
            ).scalar_one()
            == 0
        )


def test_a_duplicate_flushes_later_than_its_first_copy_is_found(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first flushes turn nothing away, so no id is kept as they go: at the first row
    # turned away the writer reads theirs back from the records table, with their lines.
    monkeypatch.setattr(PostgresBatchWriter, "flush_rows", 500)
    rows = [stop_row(n) for n in range(1, 2501)]
    rows[2399] = stop_row(10)  # line 2401 repeats line 11, four flushes later
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"))

    assert (
        "line 11, column 'source_id', value 'S000010': duplicate id inside the file "
        "(also on line 2401)" in str(refused.value)
    )


@pytest.mark.parametrize("parallel", [False, True])
def test_a_late_duplicate_names_the_lines_of_both_copies_across_rejected_rows(
    engines: tuple[Engine, Engine], tmp_path: Path, parallel: bool
) -> None:
    # The SQLite writer keeps no table of ids until a row is turned away; then it rebuilds
    # one from the lines it wrote. Rejected rows and a row over two lines make those lines
    # anything but consecutive.
    rows = [stop_row(n) for n in range(1, 3001)]
    for n in (5, 700, 1333, 2100):
        rows[n - 1] = stop_row(n, outcome="odd")  # rejected: lines 6, 701, 1334, 2101
    rows[899] = stop_row(900, officer_key="two\nlines")  # line 901 runs into line 902
    # Line 2902 (lines are one later past the break) repeats line 1502's id, another time.
    rows[2899] = stop_row(1500, occurred_at="2024-06-30T23:59:00")
    path = write_stops(tmp_path / "stops.csv", rows)

    report = ingest_file(
        *engines,
        "stops",
        path,
        load_mapping("synthetic-stops"),
        parallel=parallel,
        skip_invalid=True,
    )

    duplicates = [str(p) for p in report.sorted_problems() if "duplicate id" in p.reason]
    assert duplicates == [
        "line 1502, column 'source_id', value 'S001500': duplicate id inside the file "
        "(also on line 2902)",
        "line 2902, column 'source_id', value 'S001500': duplicate id inside the file "
        "(also on line 1502)",
    ]
    assert (report.rows_added, report.rows_rejected) == (2994, 6)

    chosen = dataclasses.replace(load_mapping("synthetic-stops"), duplicates="first")
    again = ingest_file(*engines, "stops", path, chosen, parallel=parallel, skip_invalid=True)
    # S001500 is new to the store now: the first row of it goes in, the later one is left
    # out; every other row is already present.
    assert (again.rows_added, again.rows_repeated, again.rows_already_present) == (1, 1, 2994)
    with engines[0].connect() as connection:
        stored = connection.execute(
            text("SELECT occurred_at FROM stops WHERE source_id = 'S001500'")
        ).scalar_one()
    assert str(stored).startswith(stop_row(1500)["occurred_at"].replace("T", " "))


def test_lines_count_quoted_line_breaks(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    rows = [stop_row(1, officer_key="two\nlines"), stop_row(2), stop_row(3, outcome="odd")]
    path = write_stops(tmp_path / "stops.csv", rows)

    with pytest.raises(IngestRefused, match="line 5, column 'outcome', value 'odd'"):
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"))


def test_every_vocabulary_code_passes_both_paths() -> None:
    # The canonical mapping accepts each code as itself on both paths.
    mapping = load_mapping("synthetic-stops")
    converter = RowConverter(mapping, STOP_HEADER)
    rows = [
        [stop_row(n, subject_race=race)[h] for h in STOP_HEADER]
        for n, race in enumerate(v.SUBJECT_RACE)
    ]
    fast = ColumnConverter(converter).convert(list(range(len(rows))), rows)
    assert fast is not None
    assert [r[1 + STOP_HEADER.index("subject_race")] for r in fast] == list(v.SUBJECT_RACE)


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("mpls_stops_2017_excerpt.csv", "minneapolis-stops"),
        ("mpls_police_incidents_2017_excerpt.csv", "minneapolis-incidents"),
    ],
)
def test_clean_real_files_take_the_column_path(name: str, mapping: str) -> None:
    chosen = load_mapping(mapping)
    with CsvSource(FIXTURES / name, encoding=chosen.encoding) as source:
        converter = RowConverter(chosen, source.header)
        chunk = next(source.chunks(500))

    fast = ColumnConverter(converter).convert(chunk.lines, chunk.rows)

    assert fast is not None, "a clean chunk should not need the row-by-row path"
    assert fast == [
        (line, *converter.convert(row)) for line, row in zip(chunk.lines, chunk.rows, strict=True)
    ]


def test_a_converted_chunk_is_the_only_holder_of_the_values_it_kept_as_read(
    tmp_path: Path,
) -> None:
    # marshal tracks every object referenced more than once, which made it cost twice as
    # much while the reader still held each chunk's raw rows (bench/RESULTS.md, session 29).
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1_200)])
    mapping = load_mapping("synthetic-stops")
    report = IngestReport(
        kind="stops", mapping=mapping.name, file_name=path.name, dry_run=False, skip_invalid=False
    )
    with CsvSource(path, encoding=mapping.encoding) as source:
        converter = RowConverter(mapping, source.header, datetime_as_text=True)
        chunks = converted_chunks(source, converter, report)
        for at, chunk in enumerate(chunks):
            ids = chunk.columns[0]  # the source ids, kept as they were read
            for value in (ids[0], ids[-1]):
                lists = [held for held in gc.get_referrers(value) if isinstance(held, list)]
                assert lists == [ids], f"chunk {at}: {value} is held by {len(lists)} lists"
    assert report.rows_read == 1_200


def test_the_worker_is_spawned_when_other_threads_run() -> None:
    path = FIXTURES / "mpls_stops_2017_excerpt.csv"
    here, _ = stream(path, "minneapolis-stops", parallel=False)
    release = threading.Event()
    bystander = threading.Thread(target=release.wait)
    bystander.start()
    try:
        assert pipeline._start_method() == "spawn"
        there, _ = stream(path, "minneapolis-stops", parallel=True)
    finally:
        release.set()
        bystander.join()

    assert there == here
    assert pipeline._start_method() == "fork"


def test_a_database_error_mid_file_stops_the_worker_and_writes_nothing(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 3001)])
    from privacy.ingest import staging

    calls = 0

    def failing_append(self: staging.BatchWriter, chunk: pipeline.Converted) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(staging.BatchWriter, "append", failing_append)
    with pytest.raises(RuntimeError, match="the disk is full"):
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"), parallel=True)

    assert threading.active_count() == 1  # the pipe's drain thread is gone too
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM ingest_batches")).scalar_one() == 0


def test_a_message_that_cannot_be_read_stops_the_ingest_and_writes_nothing(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages are unpacked in the thread that drains the pipe: a failure there must reach
    # the writer as an error, not leave it waiting for a message that never comes.
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 3001)])
    unpack, calls = pipeline._unpack, 0

    def unreadable_second(message: bytes) -> tuple[str, object]:
        nonlocal calls
        calls += 1
        if calls == 2:  # a message cut short: marshal raises EOFError, as a closed pipe does
            return unpack(message[:9])
        return unpack(message)

    monkeypatch.setattr(pipeline, "_unpack", unreadable_second)
    # Columns cross the pipe by marshal (SQLite), COPY text by pickle (PostgreSQL).
    sqlite = engines[0].dialect.name == "sqlite"
    with pytest.raises(EOFError if sqlite else pickle.UnpicklingError):
        ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"), parallel=True)

    assert threading.active_count() == 1  # the pipe's drain thread is gone too
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM ingest_batches")).scalar_one() == 0


def test_rows_cross_the_pipe_unchanged_whatever_they_hold() -> None:
    # Columns of strings, numbers and None (text times) go by marshal; anything else (a
    # date, which marshal cannot carry) by pickle.
    as_text = [["S1", "S2"], ["2024-01-01 00:00:00.000000", "x"], [None, "y"], [1.5, -2.0]]
    with_dates = [["S1"], [date(2024, 1, 1)], [None], [1.5]]

    for columns, way in ((as_text, b"m"), (with_dates, b"p")):
        sent = ([2, 3], columns, 4096, {"2024-01-01 00": 2})
        message = pipeline._pack("columns", sent)
        assert message[:1] == way
        assert pipeline._unpack(message) == ("columns", sent)


NUMBER_TEXT = re.compile(r"-?[0-9]*\.?[0-9]*(e[-+]?[0-9]+)?")


def _read_copy(line: str) -> list[object]:
    """A COPY text line's fields, a number read as the double COPY would make of it."""
    return [float(f) if f and NUMBER_TEXT.fullmatch(f) else f for f in line.split("\t")]


SPELLINGS = ["44.950000", "45", "45.", ".5", "-0", "-43.2500000000000000001", "0044.1", "1e1"]


def test_a_plainly_written_number_keeps_its_text_for_copy_and_nothing_else() -> None:
    converter = RowConverter(load_mapping("synthetic-stops"), STOP_HEADER, datetime_as_text=True)
    rows = [[stop_row(n, lat=lat)[h] for h in STOP_HEADER] for n, lat in enumerate(SPELLINGS)]
    at = converter.field_names.index("lat")

    as_text = ColumnConverter(converter, floats_as_text=True).columns(rows)
    as_numbers = ColumnConverter(converter).columns(rows)

    assert as_numbers is not None and as_numbers[at] == [float(s) for s in SPELLINGS]
    # "1e1" is not plainly written: the column is formatted afresh, as for any other store.
    assert as_text is not None and as_text[at] == as_numbers[at]
    plain = ColumnConverter(converter, floats_as_text=True).columns(rows[:-1])
    assert plain is not None and plain[at] == SPELLINGS[:-1]


@pytest.mark.postgres
def test_copy_reads_a_kept_number_text_to_the_double_python_reads(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    upgrade_stores(postgres_settings)
    internal, public = internal_engine(postgres_settings), public_engine(postgres_settings)
    spellings = [*SPELLINGS[:-1], "44.98765432109876543", "-3.000000000000001", "0.1"]
    path = write_stops(
        tmp_path / "stops.csv", [stop_row(n, lat=lat) for n, lat in enumerate(spellings)]
    )
    try:
        ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
        with internal.connect() as connection:
            stored = connection.execute(text("SELECT lat FROM stops ORDER BY source_id")).scalars()
            assert list(stored) == [float(s) for s in spellings]
    finally:
        internal.dispose()
        public.dispose()


@pytest.mark.postgres
def test_a_plain_number_too_small_for_a_double_is_stored_as_float_reads_it(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    # Found in review: float() reads it as 0.0, PostgreSQL refused its text as out of range.
    upgrade_stores(postgres_settings)
    internal, public = internal_engine(postgres_settings), public_engine(postgres_settings)
    tiny = "0." + "0" * 400 + "1"
    path = write_stops(tmp_path / "stops.csv", [stop_row(n, lat=tiny) for n in range(1, 4)])
    try:
        ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
        with internal.connect() as connection:
            assert list(connection.execute(text("SELECT lat FROM stops")).scalars()) == [0.0] * 3
    finally:
        internal.dispose()
        public.dispose()


@pytest.mark.parametrize(
    "written",
    ["2024-03-05T06:07:08", "2024-03-05 06:07:08", "2024-03-05T06:07:08.25", "2024-03-05T06:07"],
)
def test_an_iso_time_column_gives_the_row_paths_text(written: str) -> None:
    converter = RowConverter(load_mapping("synthetic-stops"), STOP_HEADER, datetime_as_text=True)
    rows = [[stop_row(n, occurred_at=written)[h] for h in STOP_HEADER] for n in range(3)]

    fast = ColumnConverter(converter).convert([2, 3, 4], rows)

    lines = [2, 3, 4]
    assert fast == [(n, *converter.convert(row)) for n, row in zip(lines, rows, strict=True)]
    assert fast[0][2] == f"{datetime.fromisoformat(written):%Y-%m-%d %H:%M:%S.%f}"


def test_a_late_duplicate_is_looked_for_among_the_batch_s_hours_only(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows written before the first one turned away are read back to name a duplicate's
    # lines: from the range of the table's key (time first) the batch's hours span, not
    # from every record of the source (an earlier batch here holds another year).
    internal, _ = engines
    monkeypatch.setattr(PostgresBatchWriter, "flush_rows", 500)
    earlier = [
        stop_row(n, occurred_at=f"2023-{1 + n % 12:02d}-10T08:00:00") for n in range(1, 2001)
    ]
    ingest_file(
        *engines,
        "stops",
        write_stops(tmp_path / "2023.csv", earlier),
        load_mapping("synthetic-stops"),
    )
    rows = [
        stop_row(n, occurred_at=f"2024-06-{1 + n % 28:02d}T{n % 24:02d}:15:00")
        for n in range(5001, 7501)
    ]
    rows[2399] = rows[10]  # line 2401 repeats line 12, four flushes (chunks) later
    read_back: list[tuple[str, Any]] = []

    def note_read_back(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # The ids written before the first row turned away, and the batch's hours counted
        # again once the duplicates are out.
        if (
            statement.startswith("INSERT INTO ingest_staged_ids") and "FROM stops" in statement
        ) or (statement.startswith("SELECT") and "stops.batch_id =" in statement):
            read_back.append((statement, parameters))

    event.listen(internal, "before_cursor_execute", note_read_back)
    try:
        with pytest.raises(IngestRefused) as refused:
            ingest_file(
                *engines,
                "stops",
                write_stops(tmp_path / "2024-06.csv", rows),
                load_mapping("synthetic-stops"),
            )
    finally:
        event.remove(internal, "before_cursor_execute", note_read_back)

    assert (
        "line 12, column 'source_id', value 'S005011': duplicate id inside the file "
        "(also on line 2401)" in str(refused.value)
    )
    report = refused.value.report
    assert report is not None and sum(report.hour_counts.values()) == 2498
    assert all(hour.startswith("2024-06-") for hour in report.hour_counts)
    assert len(read_back) == 2
    for statement, parameters in read_back:
        assert "occurred_at >=" in statement and "occurred_at <" in statement
        if internal.dialect.name == "sqlite":
            with internal.connect() as connection:
                select_part = statement[statement.index("SELECT") :]
                plan = connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {select_part}", parameters
                ).all()
            # The key's range, not a walk of the source's ids or of the whole table.
            assert any("PRIMARY KEY (occurred_at>? AND occurred_at<?)" in row[-1] for row in plan)


def test_rows_of_an_id_repeated_in_the_file_are_taken_out_without_a_join_per_row(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    # PostgreSQL, which does not know yet how many records the batch added, planned the
    # removal of a repeated id's rows as a loop over them that read every id of the file
    # again for each (Join Filter): minutes for a file of 45,000 rows, and so from about
    # 20,000. The plan of the removal is read as it runs, in its transaction.
    internal, _ = engines
    ingest_file(
        *engines,
        "stops",
        write_stops(tmp_path / "early.csv", [stop_row(12_000)]),
        load_mapping("synthetic-stops"),
    )
    rows = [stop_row(n) for n in range(1, 25_001)]
    rows[24_900] = stop_row(24_901, source_id="S000150")  # line 24,902 repeats line 151
    plans: list[str] = []

    def explain(_c: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("DELETE FROM stops"):
            with cursor.connection.cursor() as explaining:
                explaining.execute(f"EXPLAIN {statement}", parameters)
                plans.append("\n".join(row[0] for row in explaining.fetchall()))

    postgres = internal.dialect.name == "postgresql"
    if postgres:
        event.listen(internal, "before_cursor_execute", explain)
    try:
        report = ingest_file(
            *engines,
            "stops",
            write_stops(tmp_path / "stops.csv", rows),
            load_mapping("synthetic-stops"),
            skip_invalid=True,
        )
    finally:
        if postgres:
            event.remove(internal, "before_cursor_execute", explain)

    counted = (report.rows_added, report.rows_rejected, report.rows_already_present)
    assert counted == (24_997, 2, 1)
    with internal.connect() as connection:
        left = connection.execute(text("SELECT COUNT(*) FROM stops WHERE source_id = 'S000150'"))
        assert left.scalar_one() == 0
    if postgres:
        (plan,) = plans
        assert "Join Filter" not in plan, plan
