"""Open data: what a release's files look like, byte for byte, and that Frictionless accepts
the data package they make."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import frictionless
import pytest
from sqlalchemy import Engine

from privacy.ingest import ingest_file, load_mapping
from privacy.release.build import build_release
from privacy.release.policy import (
    AREA_DIMENSIONS,
    SOURCES,
    TIME_DIMENSIONS,
    load_policy,
)
from privacy.schema import FieldType, fields_of
from privacy.synth import generate_city
from publishing import area_list
from publishing.catalog import AreaInfo, ReleaseInfo, load_catalog
from publishing.opendata import (
    DictionaryEntry,
    UndescribedColumn,
    data_dictionary,
    data_dictionary_csv,
    datapackage,
    field_description,
    table_csv,
    table_json,
    write_open_data,
)
from publishing.releases import PublishedCell, PublishedTable
from publishing.vocabularies import FAMILIES

WORDS = (
    "This release spent zCDP rho = 0.5 of the quarter's budget of 0.5; that implies "
    "(5.12, 1e-07)-differential privacy for one stop, incident or use of force."
)

RELEASE = ReleaseInfo(
    id="3f9a" + "0" * 56 + "c0de",
    period="2025Q3",
    policy_name="quarterly",
    policy_version=2,
    policy_sha256="a" * 64,
    policy_text="name = 'quarterly'",
    budget_statement={"rho": 0.5, "epsilon": 5.12, "delta": 1e-7, "words": WORDS},
    engine_version="0.1.0",
    created_at=datetime(2025, 10, 2, 9, 0),
)  # naive UTC, as stored

BY_MONTH = PublishedTable(
    name="stops_by_month_district",
    title="Stops by month and district",
    source="stops",
    dimensions=("month", "district"),
    level_of=None,
    mechanism="gaussian",
    noise_scale=2.24,
    rho=0.05,
    epsilon=1.67,
    delta=1e-7,
    cells=(
        PublishedCell(("2025-07", "d1"), 120, 115, 125, 2.10261, estimate=120.4),
        PublishedCell(("2025-07", "unknown"), 0, 0, 4, 2.10261, estimate=-1.25),
        PublishedCell(("2025-08", "d1"), 98, 93, 103, 2.1026149, estimate=97.6),  # 8 digits
        PublishedCell(("2025-08", "unknown"), 3, 0, 7, None),  # no std_error or estimate kept
    ),
)

BY_QUARTER = PublishedTable(
    name="stops_by_district",
    title="Stops by district",
    source="stops",
    dimensions=("quarter", "district"),
    level_of="stops_by_month_district",
    mechanism="gaussian",
    noise_scale=3.1,
    rho=0.025,
    epsilon=1.14,
    delta=1e-7,
    cells=(
        PublishedCell(("2025Q3", "d1"), 218, 211, 225, 1.48, estimate=217.72),
        PublishedCell(("2025Q3", "unknown"), 3, 0, 8, 1.48, estimate=2.6),
    ),
)

TABLES = {t.name: t for t in (BY_MONTH, BY_QUARTER)}


def test_a_table_as_csv() -> None:
    assert table_csv(RELEASE, BY_MONTH) == (
        b"month,district,value,ci_low,ci_high,std_error,estimate\n"
        b"2025-07,d1,120,115,125,2.10261,120.4\n"
        b"2025-07,unknown,0,0,4,2.10261,-1.25\n"
        b"2025-08,d1,98,93,103,2.10261,97.6\n"
        b"2025-08,unknown,3,0,7,,\n"
    )


@pytest.mark.parametrize(
    ("std_error", "written"),
    [
        (2.1, "2.1"),
        (2.1026149, "2.10261"),  # 6 significant digits
        (0.0, "0"),
        (1234567.0, "1234570"),  # plain decimals, never 1.23457e+06
        (0.0000012345678, "0.00000123457"),
        (None, ""),  # releases made before the standard error was kept
    ],
)
def test_the_standard_error_has_six_significant_digits(
    std_error: float | None, written: str
) -> None:
    table = replace(BY_QUARTER, cells=(PublishedCell(("2025Q3", "d1"), 1, 0, 2, std_error),))

    assert table_csv(RELEASE, table).decode().splitlines()[1] == f"2025Q3,d1,1,0,2,{written},"


def test_a_table_as_json() -> None:
    written = table_json(RELEASE, BY_QUARTER)

    assert json.loads(written) == {
        "release_id": RELEASE.id,
        "period": "2025Q3",
        "name": "stops_by_district",
        "title": "Stops by district",
        "source": "stops",
        "dimensions": ["quarter", "district"],
        "level_of": "stops_by_month_district",
        "mechanism": "gaussian",
        "noise_scale": 3.1,
        "rho": 0.025,
        "epsilon": 1.14,
        "delta": 1e-7,
        "cells": [
            {
                "quarter": "2025Q3",
                "district": "d1",
                "value": 218,
                "ci_low": 211,
                "ci_high": 225,
                "std_error": 1.48,
                "estimate": 217.72,
            },
            {
                "quarter": "2025Q3",
                "district": "unknown",
                "value": 3,
                "ci_low": 0,
                "ci_high": 8,
                "std_error": 1.48,
                "estimate": 2.6,
            },
        ],
    }
    # Canonical: sorted keys, no spaces, so the same table is always the same bytes.
    assert (
        written == json.dumps(json.loads(written), sort_keys=True, separators=(",", ":")).encode()
    )
    assert written.startswith(b'{"cells":[{"ci_high":225,')


@pytest.mark.parametrize("table", [BY_MONTH, BY_QUARTER], ids=lambda t: t.name)
def test_the_json_cells_round_trip(table: PublishedTable) -> None:
    content = json.loads(table_json(RELEASE, table))

    read_back = tuple(
        PublishedCell(
            tuple(c[d] for d in content["dimensions"]),
            c["value"],
            c["ci_low"],
            c["ci_high"],
            c["std_error"],
            estimate=c["estimate"],
        )
        for c in content["cells"]
    )

    # Exactly the published cells, with the standard error at 6 significant digits as in
    # the CSV.
    assert read_back == tuple(
        replace(c, std_error=None if c.std_error is None else float(f"{c.std_error:.6g}"))
        for c in table.cells
    )


def test_the_data_dictionary_describes_every_column_of_every_table() -> None:
    entries = data_dictionary(TABLES)

    described = [(e.table, e.field, e.type) for e in entries]
    assert described == [
        ("stops_by_district", "quarter", "string"),
        ("stops_by_district", "district", "string"),
        ("stops_by_district", "value", "integer"),
        ("stops_by_district", "ci_low", "integer"),
        ("stops_by_district", "ci_high", "integer"),
        ("stops_by_district", "std_error", "number"),
        ("stops_by_district", "estimate", "number"),
        ("stops_by_month_district", "month", "string"),
        ("stops_by_month_district", "district", "string"),
        ("stops_by_month_district", "value", "integer"),
        ("stops_by_month_district", "ci_low", "integer"),
        ("stops_by_month_district", "ci_high", "integer"),
        ("stops_by_month_district", "std_error", "number"),
        ("stops_by_month_district", "estimate", "number"),
    ]
    assert all(len(e.description) > 40 for e in entries)
    by_field = {e.field: e.description for e in entries}
    assert by_field["month"] == "Calendar month, YYYY-MM (local time of the record)."
    assert by_field["district"].startswith(
        "District code; `unknown` where the record's district was not recorded or not a "
        "declared district."
    )
    assert by_field["value"].startswith("Differentially private count of stops in this cell")
    assert "post-processed" in by_field["value"]
    assert "95% interval" in by_field["ci_low"] and "95% interval" in by_field["ci_high"]
    assert "before rounding" in by_field["std_error"]
    assert "Add these, not the values, to total many cells" in by_field["estimate"]


def policy_dimensions() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """Every dimension a policy may give a table, in each vocabulary it can be counted in,
    with its codes (none for time and areas)."""
    dimensions: dict[tuple[str, str | None], tuple[str, ...]] = {
        (d, None): () for d in (*TIME_DIMENSIONS, *AREA_DIMENSIONS)
    }
    for source in SOURCES:
        for f in fields_of(source):
            if f.type is not FieldType.CATEGORY:
                continue
            for vocabulary in FAMILIES.get(f.name, ()):
                dimensions[f.name, vocabulary.name] = vocabulary.codes
            if f.name not in FAMILIES:
                dimensions[f.name, None] = f.vocabulary
    return sorted((d, name, codes) for (d, name), codes in dimensions.items())


@pytest.mark.parametrize(("dimension", "vocabulary", "codes"), policy_dimensions())
def test_every_dimension_a_policy_can_use_is_described_with_its_codes(
    dimension: str, vocabulary: str | None, codes: tuple[str, ...]
) -> None:
    table = replace(BY_QUARTER, dimensions=("quarter", dimension))
    chosen = {dimension: vocabulary} if vocabulary else {}
    description = field_description(table, dimension, chosen)

    missing = [c for c in codes if not re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", description)]
    assert not missing, f"the description of {dimension!r} does not name {missing}"
    if vocabulary:
        assert vocabulary in description


def test_a_column_without_a_description_stops_the_export(tmp_path: Path) -> None:
    odd = replace(BY_QUARTER, name="stops_by_shoe_size", dimensions=("quarter", "shoe_size"))

    with pytest.raises(UndescribedColumn, match="'shoe_size' of table 'stops_by_shoe_size'"):
        data_dictionary({**TABLES, odd.name: odd})
    with pytest.raises(UndescribedColumn):
        write_open_data(RELEASE, {**TABLES, odd.name: odd}, tmp_path / "open")
    assert not (tmp_path / "open").exists()  # nothing half-written


def test_the_data_dictionary_as_csv() -> None:
    written = data_dictionary_csv(TABLES)

    assert written.startswith(
        b"table,field,type,description\nstops_by_district,quarter,"
        b'string,"Calendar quarter, YYYYQN: 2025Q3 is July to '
        b'September 2025."\n'
    )
    rows = list(csv.DictReader(io.StringIO(written.decode("utf-8"))))
    assert [DictionaryEntry(**row) for row in rows] == data_dictionary(TABLES)


def test_the_data_package_descriptor() -> None:
    package = datapackage(RELEASE, TABLES)

    assert {k: v for k, v in package.items() if k not in ("description", "resources")} == {
        "profile": "tabular-data-package",
        "name": "release-2025q3-3f9a00000000",
        "title": "Police transparency data, 2025Q3 (differentially private)",
        "version": RELEASE.id,
        "created": "2025-10-02T09:00:00Z",
        "licenses": [
            {
                "name": "ODC-PDDL-1.0",
                "path": "https://opendatacommons.org/licenses/pddl/",
                "title": "Open Data Commons Public Domain Dedication and License v1.0",
            }
        ],
        "keywords": ["police", "transparency", "differential privacy", "2025Q3"],
    }
    assert package["description"].startswith(
        "The 2025Q3 release of the police transparency portal: counts of stops, protected "
        "by differential privacy."
    )
    assert WORDS in package["description"]
    assert [r["name"] for r in package["resources"]] == [
        "stops_by_district",
        "stops_by_month_district",
        "codes",
    ]
    dictionary = {(e.table, e.field): e.description for e in data_dictionary(TABLES)}
    assert package["resources"][0] == {
        "name": "stops_by_district",
        "path": "tables/stops_by_district.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": "Stops by district",
        "description": (
            "Stops by district: differentially private counts of stops by quarter and "
            "district, each with its 95% interval. Discrete Gaussian noise of scale 3.1 was "
            "added; this table's share of the budget is zCDP rho = 0.025, that is (1.14, "
            "1e-07)-differential privacy. A coarser level of stops_by_month_district: its "
            "counts are the sums of stops_by_month_district's counts. The same table with "
            "its metadata is in tables/stops_by_district.json."
        ),
        "schema": {
            "fields": [
                {
                    "name": "quarter",
                    "type": "string",
                    "constraints": {"required": True},
                    "description": dictionary["stops_by_district", "quarter"],
                },
                {
                    "name": "district",
                    "type": "string",
                    "constraints": {"required": True},
                    "description": dictionary["stops_by_district", "district"],
                },
                {
                    "name": "value",
                    "type": "integer",
                    "constraints": {"required": True, "minimum": 0},
                    "description": dictionary["stops_by_district", "value"],
                },
                {
                    "name": "ci_low",
                    "type": "integer",
                    "constraints": {"minimum": 0},
                    "description": dictionary["stops_by_district", "ci_low"],
                },
                {
                    "name": "ci_high",
                    "type": "integer",
                    "description": dictionary["stops_by_district", "ci_high"],
                },
                {
                    "name": "std_error",
                    "type": "number",
                    "description": dictionary["stops_by_district", "std_error"],
                },
                {
                    "name": "estimate",
                    "type": "number",
                    "description": dictionary["stops_by_district", "estimate"],
                },
            ],
            "primaryKey": ["quarter", "district"],
            "missingValues": [""],
        },
    }


def test_a_table_name_that_cannot_name_a_file_is_refused() -> None:
    shouting = replace(BY_QUARTER, name="Stops_By_District")

    with pytest.raises(ValueError, match="lowercase letters, digits and underscores"):
        datapackage(RELEASE, {shouting.name: shouting})


def written_files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_the_files_written(tmp_path: Path) -> None:
    path = write_open_data(RELEASE, TABLES, tmp_path / "open")

    assert path == tmp_path / "open" / "datapackage.json"
    files = written_files(tmp_path / "open")
    assert list(files) == [
        "codes.csv",
        "data-dictionary.csv",
        "datapackage.json",
        "tables/stops_by_district.csv",
        "tables/stops_by_district.json",
        "tables/stops_by_month_district.csv",
        "tables/stops_by_month_district.json",
    ]
    assert files["tables/stops_by_month_district.csv"] == table_csv(RELEASE, BY_MONTH)
    assert files["tables/stops_by_district.json"] == table_json(RELEASE, BY_QUARTER)
    assert files["data-dictionary.csv"] == data_dictionary_csv(TABLES)
    assert files["codes.csv"] == b"field,code,label\n"  # district tables use no coded field
    assert json.loads(files["datapackage.json"]) == datapackage(RELEASE, TABLES)


def test_a_release_without_its_areas_keeps_the_package_it_always_had() -> None:
    # Releases written before areas were kept with them: their files never change.
    frozen = [AreaInfo("city", "city", "Riverton", None, 1000, None)]
    without = datapackage(RELEASE, TABLES)
    with_areas = datapackage(RELEASE, TABLES, frozen)

    assert [r["name"] for r in without["resources"]][-1] == "codes"
    assert with_areas["resources"][:-1] == without["resources"]
    assert with_areas["resources"][-1]["path"] == "areas.csv"
    assert [f["name"] for f in with_areas["resources"][-1]["schema"]["fields"]] == list(
        area_list.COLUMNS
    )


def test_the_same_release_always_writes_the_same_bytes(tmp_path: Path) -> None:
    write_open_data(RELEASE, TABLES, tmp_path / "first")
    # The tables handed over in another order make no difference.
    write_open_data(RELEASE, dict(reversed(TABLES.items())), tmp_path / "second")

    assert written_files(tmp_path / "first") == written_files(tmp_path / "second")


def test_frictionless_finds_the_data_package_valid(tmp_path: Path) -> None:
    path = write_open_data(RELEASE, TABLES, tmp_path)

    report = frictionless.validate(path)

    assert report.valid, report.flatten(["type", "note"])
    assert report.stats["tasks"] == 3  # both tables and the codes, each against its schema


def test_a_real_release_of_the_synthetic_city_exports_valid_open_data(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    """Every table of the shipped policy, read through the catalog as the site reads it."""
    internal, public = engines
    city = generate_city(tmp_path / "city", stops=600, incidents=300, force_events=40)
    for kind, source in (
        ("areas", city.areas),
        ("stops", city.stops),
        ("incidents", city.incidents),
        ("force", city.force),
    ):
        ingest_file(internal, public, kind, source, load_mapping(f"synthetic-{kind}"))
    built = build_release(internal, public, "2024Q3", load_policy("quarterly"), actor="test")
    catalog = load_catalog(public)
    release = catalog.release(built.release_id)
    assert release is not None
    tables = catalog.tables(release.id)

    areas = catalog.frozen_areas(release.id)
    report = frictionless.validate(write_open_data(release, tables, tmp_path / "open", areas))

    assert report.valid, report.flatten(["type", "note"])
    assert report.stats["tasks"] == len(tables) + 2  # and the codes and the areas
    assert [a.code for a in areas] == [a.code for a in area_list.listed(catalog)]
    assert str(release.budget_statement["words"]) in datapackage(release, tables)["description"]


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (b"2025Q3,d1,-1,0,4,1.48,1\n", "constraint-error"),  # a negative count
        (b"2025Q3,d1,1,0,4,wide,1\n", "type-error"),  # a standard error that is not a number
        (b"2025Q3,,1,0,4,1.48,1\n", "constraint-error"),  # a missing district
    ],
)
def test_frictionless_catches_a_broken_table(tmp_path: Path, row: bytes, error: str) -> None:
    """The schema is not decoration: a file that breaks it fails validation."""
    path = write_open_data(RELEASE, TABLES, tmp_path)
    table = tmp_path / "tables" / "stops_by_district.csv"
    table.write_bytes(table.read_bytes().replace(b"2025Q3,d1,218,211,225,1.48,217.72\n", row))

    report = frictionless.validate(path)

    assert not report.valid
    assert error in {e[0] for e in report.flatten(["type"])}


def test_open_data_loads_nothing_of_the_internal_side() -> None:
    code = "import sys, publishing.opendata; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )

    assert {m.split(".")[0] for m in loaded} & {
        "portal",
        "privacy",
        "migrations",
        "opendp",
        "frictionless",
    } == set()
