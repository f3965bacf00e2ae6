"""Dates whose numbers run together (``1012014``) are read only when they cannot be read
two ways: strptime splits ``1012014`` under ``%m%d%Y`` as 10/1/2014, and an export without
leading zeros (1 January 2014) moved every January stop to October with no error."""

from __future__ import annotations

from datetime import date, datetime
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine

from portal.cli.ingest import run_ingest
from portal.settings import Settings
from privacy.ingest import ingest_file, load_mapping
from privacy.ingest.columns import ColumnConverter
from privacy.ingest.convert import RowConverter, RowErrors
from privacy.ingest.mapping import MappingError
from privacy.store.audit import utc_now
from publishing.profile import DepartmentProfile, SourceProfile, write_profile
from tests.canonical import stop_row, write_stops

ROOT = Path(__file__).resolve().parents[1]


def converter(tmp_path: Path, fmt: str, transform: str = "") -> tuple[RowConverter, int]:
    text = (ROOT / "privacy" / "mappings" / "synthetic-stops.toml").read_text()
    how = f'format = "{fmt}"' + (f'\ntransform = "{transform}"' if transform else "")
    text = text.replace('column = "occurred_at"', f'column = "occurred_at"\n{how}', 1)
    path = tmp_path / "packed-dates.toml"
    path.write_text(text.replace('name = "synthetic-stops"', 'name = "packed-dates"'))
    read = RowConverter(load_mapping(path), list(stop_row(0)))
    return read, read.field_names.index("occurred_at")


def occurred(read: RowConverter, at: int, raw: str) -> object:
    return read.convert(list(stop_row(1, occurred_at=raw).values()))[at]


def test_packed_digits_without_leading_zeros_are_refused_with_the_fix(tmp_path: Path) -> None:
    read, at = converter(tmp_path, "%m%d%Y")

    assert occurred(read, at, "01012014") == datetime(2014, 1, 1)
    assert occurred(read, at, "10012014") == datetime(2014, 10, 1)
    assert occurred(read, at, "3022014") == datetime(2014, 3, 2)  # 30/2 is no date: one way
    with pytest.raises(RowErrors) as refused:
        occurred(read, at, "1012014")  # 1 January 2014, which strptime reads as 1 October
    message = str(refused.value)
    assert "'1012014'" in message  # the value
    assert "read as 2014-01-01 00:00:00 or 2014-10-01 00:00:00" in message  # both readings
    assert "export the dates with leading zeros" in message


def test_a_padding_transform_says_how_to_read_them(tmp_path: Path) -> None:
    # The export pads the day and the year but not the month: pad the cell to 8 digits.
    read, at = converter(tmp_path, "%m%d%Y", transform="zero-pad-8")

    assert occurred(read, at, "1012014") == datetime(2014, 1, 1)
    assert occurred(read, at, "12312014") == datetime(2014, 12, 31)


@pytest.mark.parametrize(
    ("fmt", "raw", "expected"),
    [
        ("%m/%d/%Y %H:%M", "1/5/2014 9:05", datetime(2014, 1, 5, 9, 5)),  # separators: fine
        ("%m%d%Y %H:%M", "01052014 9:05", datetime(2014, 1, 5, 9, 5)),  # only the date packed
        ("%Y%m%d%H%M", "201401050905", datetime(2014, 1, 5, 9, 5)),
    ],
)
def test_dates_that_read_one_way_only_are_read(
    tmp_path: Path, fmt: str, raw: str, expected: datetime
) -> None:
    read, at = converter(tmp_path, fmt)
    assert occurred(read, at, raw) == expected


def months_file(tmp_path: Path, per_month: dict[int, int], *, repeat: int = 0) -> Path:
    """Canonical stops of 2024: ``per_month[m]`` in month m, the first ``repeat`` ids twice."""
    rows, n = [], 0
    for month, count in per_month.items():
        for i in range(count):
            n += 1
            at = f"2024-{month:02d}-{1 + i % 28:02d}T{i % 24:02d}:15:00"
            rows.append(stop_row(n, occurred_at=at))
    rows += [dict(row) for row in rows[:repeat]]
    return write_stops(tmp_path / "stops.csv", rows)


def test_every_report_counts_records_per_month_weekday_and_hour(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = months_file(tmp_path, {1: 300, 2: 290, 3: 310})
    for dry_run in (True, False):
        report = ingest_file(
            *engines, "stops", path, load_mapping("synthetic-stops"), dry_run=dry_run
        )
        assert report.by_month() == {"2024-01": 300, "2024-02": 290, "2024-03": 310}
        assert sum(report.by_weekday().values()) == 900
        assert report.by_hour()["00"] == 13 + 13 + 13  # hours 0..23 in turn: i % 24 == 0
        assert not [n for n in report.notes if "check the mapping's date format" in n]


def test_a_month_far_below_its_neighbours_is_a_warning(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = months_file(tmp_path, {1: 300, 2: 60, 3: 310})
    report = ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"), dry_run=True)
    assert (
        "2024-02 has 60 records against 300 and 310 in the months beside it; if that is not "
        "real, check the mapping's date format"
    ) in report.notes


def test_records_outside_the_declared_window_are_a_warning(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    profile = DepartmentProfile(
        "Testville PD", {"stops": SourceProfile({}, (date(2024, 2, 1), date(2024, 12, 31)))}
    )
    write_profile(public, profile, now=utc_now())
    path = months_file(tmp_path, {1: 30, 2: 30})
    report = ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
    assert (
        "30 records fall outside the stops window the department profile declares "
        "(2024-02-01 to 2024-12-31): check the dates, or the window with `portal profile show`"
    ) in report.notes


def test_counts_leave_out_rows_rejected_for_repeated_ids(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    # 100 ids written twice: all 200 rows are rejected, and no count may include them.
    path = months_file(tmp_path, {1: 300, 2: 290}, repeat=100)
    report = ingest_file(*engines, "stops", path, load_mapping("synthetic-stops"), dry_run=True)
    assert report.rows_accepted == 490
    assert sum(report.by_month().values()) == 490
    assert report.by_month() == {"2024-01": 200, "2024-02": 290}
    assert sum(report.category_counts["subject_race"].values()) == 490


def test_cli_messages_print_as_written(settings: Settings, tmp_path: Path) -> None:
    text = (ROOT / "privacy" / "mappings" / "synthetic-stops.toml").read_text()
    path = tmp_path / "broken.toml"
    path.write_text(text + '\n[fields.outcome.values]\nARREST = "arested"\n')
    out = Console(file=StringIO(), width=300)
    code = run_ingest(
        settings, "stops", write_stops(tmp_path / "s.csv", [stop_row(1)]), str(path), console=out
    )
    said = out.file.getvalue()  # type: ignore[attr-defined]
    assert code == 2
    assert "[fields.outcome]" in said, said


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (
            "CHOOSE ONE: %m/%d/%Y or %d/%m/%Y",
            r"format is still the draft's choice, .*: keep the one format that reads",
        ),
        ("%d/%d/%Y", r"format '%d/%d/%Y' is not a date format: redefinition of group name"),
    ],
)
def test_a_format_strptime_cannot_use_is_refused_when_the_mapping_loads(
    tmp_path: Path, fmt: str, message: str
) -> None:
    with pytest.raises(MappingError, match=r"\[fields\.occurred_at\] " + message):
        converter(tmp_path, fmt)


@pytest.mark.parametrize(
    ("fmt", "transform", "values"),
    [
        ("%Y-%m", "", ["2025-01", "2025-02", "2025-12", "2025-01"]),  # a month only
        ("%m/%d/%Y %H:%M", "", ["1/5/2024 13:45", "01/05/2024 13:45", "12/31/2024 23:59"]),
        ("%d.%m.%Y", "", ["05.01.2024", "31.12.2024", "05.01.2024"]),
        ("%m%d%Y", "zero-pad-8", ["1012014", "12312014", "1012014"]),
        ("%m%d%Y", "", ["01012014", "10012014", "3022014"]),  # packed, each read one way
    ],
)
def test_dates_in_any_format_take_the_column_path_and_read_as_the_row_path(
    tmp_path: Path, fmt: str, transform: str, values: list[str]
) -> None:
    """Issue 16: a year-month date was read row by row (strptime on every row, 77% of the
    converter's time); every format now takes the column path, which reads each distinct
    value once with the row path's own reading."""
    read, at = converter(tmp_path, fmt, transform)
    rows = [list(stop_row(n, occurred_at=raw).values()) for n, raw in enumerate(values * 50)]
    lines = list(range(2, 2 + len(rows)))
    reading, readings = read.field_functions[at], []
    read.field_functions[at] = lambda row: readings.append(row) or reading(row)

    fast = ColumnConverter(read).convert(lines, rows)

    assert fast is not None, "a clean chunk should not need the row-by-row path"
    assert len(readings) == len(set(values))  # each distinct value read once, not each row
    read.field_functions[at] = reading
    assert fast == [(line, *read.convert(row)) for line, row in zip(lines, rows, strict=True)]


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [("%Y-%m", "2025-13"), ("%m%d%Y", "1012014"), ("%Y-%m", ""), ("%m/%d/%Y", "1850/1/1")],
)
def test_a_bad_date_sends_its_chunk_to_the_row_path(tmp_path: Path, fmt: str, bad: str) -> None:
    read, _at = converter(tmp_path, fmt)
    good = {"%Y-%m": "2025-01", "%m%d%Y": "01012014", "%m/%d/%Y": "1/5/2024"}[fmt]
    rows = [list(stop_row(n, occurred_at=raw).values()) for n, raw in enumerate([good, bad])]

    assert ColumnConverter(read).convert([2, 3], rows) is None  # the row path names it
    with pytest.raises(RowErrors):
        read.convert(rows[1])
