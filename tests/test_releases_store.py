"""Releases in the public store: content-hashed, immutable, written whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError

from publishing.models import Release, ReleaseCell
from publishing.releases import (
    PublishedCell,
    PublishedTable,
    ReleaseContent,
    read_release,
    write_release,
)

NOW = datetime(2025, 10, 2, 9, 0)


def content(**changes: object) -> ReleaseContent:
    table = PublishedTable(
        name="stops_by_district",
        title="Stops by district",
        source="stops",
        dimensions=("quarter", "district"),
        level_of=None,
        mechanism="gaussian",
        noise_scale=2.24,
        rho=0.1,
        epsilon=2.35,
        delta=1e-7,
        cells=(
            PublishedCell(("2025Q3", "d1"), 120, 116, 124, 2.1, 121),
            PublishedCell(("2025Q3", "unknown"), 0, 0, 4, 2.1, -2),
        ),
    )
    base = ReleaseContent(
        period="2025Q3",
        release_key="k1",
        policy_name="quarterly",
        policy_version=1,
        policy_sha256="a" * 64,
        policy_text="name = 'quarterly'",
        budget_statement={"rho": 0.1, "epsilon": 2.35, "delta": 1e-7},
        engine_version="0.1.0",
        tables=(table,),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_release_reads_back_exactly_as_written(engines: tuple[Engine, Engine]) -> None:
    _, public = engines
    written = content()

    release_id = write_release(public, written, created_at=NOW)

    assert release_id == written.content_hash() and len(release_id) == 64
    assert read_release(public, release_id) == written
    assert read_release(public, "0" * 64) is None


def test_the_id_is_the_content(engines: tuple[Engine, Engine]) -> None:
    _, public = engines
    first = write_release(public, content(), created_at=NOW)
    again = write_release(public, content(), created_at=datetime(2030, 1, 1))

    assert again == first  # the same numbers are the same release, written once
    assert count(public, Release) == 1
    changed = content(budget_statement={"rho": 0.2, "epsilon": 3.0, "delta": 1e-7})
    assert changed.content_hash() != first


def test_cells_are_not_checked_against_their_table_row_by_row(
    engines: tuple[Engine, Engine],
) -> None:
    """A foreign key from the cells to their table is a trigger per cell on PostgreSQL, and
    cost a release as much again as writing its cells. Cells are written only with their
    release and tables, in one transaction (this module's other tests)."""
    _, public = engines
    assert inspect(public).get_foreign_keys(ReleaseCell.__tablename__) == []


def test_a_release_is_written_whole_or_not_at_all(engines: tuple[Engine, Engine]) -> None:
    _, public = engines
    bad_cell = PublishedCell(("2025Q3", "d2"), 5, 7, 9, 2.1, 5)  # interval does not hold the value
    table = replace(content().tables[0], cells=(*content().tables[0].cells, bad_cell))

    with pytest.raises(IntegrityError):
        write_release(public, content(tables=(table,)), created_at=NOW)

    assert (count(public, Release), count(public, ReleaseCell)) == (0, 0)


def test_a_report_replaces_the_earlier_one_and_changes_the_catalog_version(
    engines: tuple[Engine, Engine],
) -> None:
    from publishing.artifacts import list_artifacts, read_artifact, write_artifact
    from publishing.catalog import catalog_version

    _, public = engines
    release_id = write_release(public, content(), created_at=NOW)
    before = catalog_version(public)

    first = write_artifact(
        public,
        release_id=release_id,
        kind="report",
        filename="r.pdf",
        media_type="application/pdf",
        content=b"%PDF-1 one",
        created_at=NOW,
    )
    between = catalog_version(public)
    second = write_artifact(
        public,
        release_id=release_id,
        kind="report",
        filename="r.pdf",
        media_type="application/pdf",
        content=b"%PDF-1 two",
        created_at=NOW,
    )

    assert len({before, between, catalog_version(public)}) == 3  # the site re-reads each time
    assert first != second
    assert [a.sha256 for a in list_artifacts(public)] == [second]
    found = read_artifact(public, "r.pdf")
    assert found is not None and found[1] == b"%PDF-1 two" and found[0].period == "2025Q3"
