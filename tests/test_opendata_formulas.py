"""Open-data CSV files cannot carry a spreadsheet formula (OWASP's CSV-injection rule).

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
written with a leading ``'``; which cells are text is the column's declared type, so
numbers (a negative one too) are written as numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import frictionless
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from privacy.ingest import ingest_file, load_mapping
from privacy.release.build import build_release
from privacy.release.policy import load_policy
from privacy.synth import generate_city
from publishing.area_list import areas_csv
from publishing.catalog import load_catalog
from publishing.csvfiles import csv_bytes, csv_text
from publishing.models import Area
from publishing.opendata import (
    CSV_INJECTION_NOTE,
    data_dictionary_csv,
    datapackage,
    table_csv,
    write_open_data,
)
from publishing.releases import PublishedCell
from tests.test_opendata import BY_QUARTER, RELEASE

FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(1)", "\tTAB", "\rCR"]
HARMLESS = ["d1", "unknown", "'=already quoted", "a=b", "2+3", " =x"]


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


@pytest.mark.parametrize("code", FORMULAS)
def test_a_formula_in_a_text_column_is_written_as_text(code: str) -> None:
    table = replace(BY_QUARTER, cells=(PublishedCell(("2025Q3", code), 5, 1, 9, 1.5),))

    header, row = read_csv(table_csv(RELEASE, table))

    assert header == [
        "quarter",
        "district",
        "value",
        "ci_low",
        "ci_high",
        "std_error",
        "estimate",
    ]
    assert row == ["2025Q3", "'" + code, "5", "1", "9", "1.5", ""]


@pytest.mark.parametrize("code", HARMLESS)
def test_other_text_is_written_as_it_is(code: str) -> None:
    table = replace(BY_QUARTER, cells=(PublishedCell(("2025Q3", code), 5, 1, 9, 1.5),))

    assert read_csv(table_csv(RELEASE, table))[1][1] == code


def test_negative_numbers_stay_numbers() -> None:
    # Counts are never negative once published, but a column's type, not its content,
    # decides: a signed number (a raw noisy value, say) must not become text.
    table = replace(BY_QUARTER, cells=(PublishedCell(("2025Q3", "-d"), -3, -7, 1, -0.25),))

    assert read_csv(table_csv(RELEASE, table))[1] == [
        "2025Q3",
        "'-d",
        "-3",
        "-7",
        "1",
        "-0.25",
        "",
    ]


def test_the_data_dictionary_csv_is_neutralised_too() -> None:
    table = replace(BY_QUARTER, name="=cmd", title="@title")

    rows = read_csv(data_dictionary_csv({table.name: table}))

    assert rows[0] == ["table", "field", "type", "description"]
    assert {row[0] for row in rows[1:]} == {"'=cmd"}


def test_the_data_package_says_so() -> None:
    assert CSV_INJECTION_NOTE in datapackage(RELEASE, {BY_QUARTER.name: BY_QUARTER})["description"]
    assert csv_text("=1") == "'=1"


def test_a_release_over_areas_named_like_formulas_writes_them_as_text(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    """Areas that got into the public store before ingest refused such codes (ingest
    refuses them now) still reach the CSV files as text."""
    internal, public = engines
    city = generate_city(tmp_path / "city", stops=600, incidents=300, force_events=40)
    for kind, path in (("areas", city.areas), ("stops", city.stops)):
        ingest_file(internal, public, kind, path, load_mapping(f"synthetic-{kind}"))
    district, *beats = FORMULAS
    with public.begin() as connection:
        city_code = connection.execute(Area.__table__.select().where(Area.level == "city")).one()
        connection.execute(
            insert(Area),
            [{"code": district, "level": "district", "name": "=1+1", "parent_code": city_code.code}]
            + [
                {"code": beat, "level": "beat", "name": f"@{n}", "parent_code": district}
                for n, beat in enumerate(beats)
            ],
        )
    built = build_release(internal, public, "2024Q3", load_policy("quarterly"), actor="test")
    catalog = load_catalog(public)
    release = catalog.release(built.release_id)
    assert release is not None
    tables = catalog.tables(release.id)

    seen: set[str] = set()
    for table in tables.values():
        rows = read_csv(table_csv(release, table))
        header = rows[0]
        for name in ("district", "beat"):
            if name in header:
                seen |= {row[header.index(name)] for row in rows[1:]}
        keys = header.index("value")  # the dimensions and the codes' labels come first
        for row in rows[1:]:  # every measure still reads as a number
            [int(x) for x in row[keys : keys + 3]]
        for row in rows[1:]:  # text cells only: a negative estimate is a number
            text = row[:keys]
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in text)
    assert {"'" + code for code in FORMULAS} <= seen
    areas = catalog.frozen_areas(release.id)
    names = {row[0]: row[2] for row in read_csv(areas_csv(areas))[1:]}
    assert names[csv_text(district)] == "'=1+1"
    report = frictionless.validate(write_open_data(release, tables, tmp_path / "open", areas))
    assert report.valid, report.flatten(["type", "note"])
    assert "areas" in {task.name for task in report.tasks}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(st.characters(blacklist_categories=["Cs"])), st.integers()),
        min_size=1,
        max_size=5,
    )
)
def test_every_cell_reads_back_as_written(rows: list[tuple[str, int]]) -> None:
    # Commas, quotes, line feeds and carriage returns in a cell, formulas or not: a CSV
    # reader gets back the (neutralised) text and the number, one row per row.
    written = csv_bytes(["name", "count"], ["string", "integer"], rows)

    assert read_csv(written) == [
        ["name", "count"],
        *([csv_text(name), str(count)] for name, count in rows),
    ]
