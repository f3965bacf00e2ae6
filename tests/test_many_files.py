"""A department's yearly exports in one command: a directory or a glob, each file its own
batch, in name order, with one summary; a bad file stops the run and says what stays
loaded."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine, select

from portal.cli.ingest import run_ingest
from portal.settings import Settings
from privacy.store.models import IngestBatch
from tests.canonical import stop_row, write_stops


def yearly(directory: Path, years: tuple[int, ...], bad: int | None = None) -> None:
    directory.mkdir(exist_ok=True)
    for year in years:
        rows = [
            stop_row(year * 1000 + n, occurred_at=f"{year}-03-0{1 + n % 9}T10:00:00")
            for n in range(20)
        ]
        if year == bad:
            rows[5]["outcome"] = "flogged"
        write_stops(directory / f"stops-{year}.csv", rows)


def batches(internal: Engine) -> list[tuple[str, int]]:
    with internal.connect() as connection:
        found = connection.execute(
            select(IngestBatch.file_name, IngestBatch.rows_added).order_by(IngestBatch.id)
        )
        return [(name, int(added)) for name, added in found]


def run(settings: Settings, path: Path) -> tuple[int, str]:
    out = Console(file=StringIO(), width=200)
    code = run_ingest(settings, "stops", path, "synthetic-stops", console=out)
    return code, out.file.getvalue()  # type: ignore[attr-defined]


def test_a_directory_loads_each_file_as_a_batch_in_order(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    yearly(tmp_path / "exports", (2025, 2023, 2024))
    code, said = run(settings, tmp_path / "exports")

    assert code == 0
    assert batches(engines[0]) == [
        ("stops-2023.csv", 20),
        ("stops-2024.csv", 20),
        ("stops-2025.csv", 20),
    ]
    assert "file 1 of 3: stops-2023.csv" in said
    assert "│ all files      │       │ 60   │ 60       │ 60    │ 0        │" in said


def test_a_glob_picks_the_files_it_matches(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    yearly(tmp_path, (2023, 2024))
    (tmp_path / "notes.csv").write_text("not,stops\n")
    code, _ = run(settings, tmp_path / "stops-*.csv")

    assert code == 0
    assert [name for name, _ in batches(engines[0])] == ["stops-2023.csv", "stops-2024.csv"]


def test_a_bad_file_stops_the_run_and_says_what_stays_loaded(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    yearly(tmp_path / "exports", (2023, 2024, 2025), bad=2024)
    code, said = run(settings, tmp_path / "exports")

    assert code == 2
    assert batches(engines[0]) == [("stops-2023.csv", 20)]  # 2025 was not attempted
    assert "'flogged'" in said
    assert "The files before it stay loaded (stops-2023.csv)" in said


def test_nothing_to_ingest_is_an_error(settings: Settings, tmp_path: Path) -> None:
    code, said = run(settings, tmp_path / "missing-*.csv")
    assert code == 2 and "no such file, and no CSV file in or matching" in said
