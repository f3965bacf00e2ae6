"""Residents by race in the areas' schema: read from an export's counts or from its shares
of the population (``combine = "product"``), stored per area, and turned into stops and
searches per 1,000 residents of each group where the areas give them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.ingest.mapping import MappingError

AREAS = """name = "shares"
kind = "areas"
source = "shares"

[fields.code]
column = "code"
[fields.level]
column = "level"
[fields.name]
column = "name"
[fields.parent]
column = "parent"
values = { "" = "unknown" }
[fields.population]
column = "residents"
[fields.population_white]
columns = ["residents", "white_share"]
combine = "product"
[fields.population_black]
column = "black_residents"
"""


def write(tmp_path: Path, rows: list[list[str]], mapping: str = AREAS) -> tuple[Path, Path]:
    path = tmp_path / "areas.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["code", "level", "name", "parent", "residents", "white_share", "black_residents"]
        )
        writer.writerows(rows)
    (tmp_path / "shares.toml").write_text(mapping)
    return path, tmp_path / "shares.toml"


def stored(public: Engine) -> dict[str, str | None]:
    with public.connect() as connection:
        rows = connection.execute(text("SELECT code, population_by_race FROM areas"))
        return {code: groups for code, groups in rows}


def test_a_share_times_the_population_and_a_count_are_stored_per_group(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, mapping = write(
        tmp_path,
        [
            ["c", "city", "Town", "", "", "", ""],
            ["d1", "district", "North", "c", "1000", "0.354", "612"],
            ["d2", "district", "South", "c", "800", "", ""],  # no groups given
        ],
    )

    ingest_file(internal, public, "areas", path, load_mapping(mapping))

    groups = stored(public)
    assert json.loads(groups["d1"] or "") == {"black": 612, "white": 354}
    assert groups["d2"] is None and groups["c"] is None


def test_a_share_that_is_not_a_number_is_refused_with_its_line(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, mapping = write(
        tmp_path,
        [
            ["c", "city", "Town", "", "", "", ""],
            ["d1", "district", "North", "c", "1000", "most", ""],
        ],
    )

    with pytest.raises(IngestRefused) as refused:
        ingest_file(internal, public, "areas", path, load_mapping(mapping))
    problem = refused.value.report.problems[0]
    assert (problem.line, problem.column, problem.value, problem.reason) == (
        3,
        "white_share",
        "most",
        "not a number",
    )


def test_a_number_read_from_two_columns_needs_the_product(tmp_path: Path) -> None:
    mapping = AREAS.replace('combine = "product"\n', "")
    (tmp_path / "shares.toml").write_text(mapping)

    with pytest.raises(MappingError, match="needs combine = one of product"):
        load_mapping(tmp_path / "shares.toml")
