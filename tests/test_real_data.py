"""The shipped mappings against real public police data.

The excerpts in tests/fixtures always run; the full files in ../shared/data run when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from publishing.models import Area
from tests.conftest import FIXTURES, shared_file
from tests.test_ingest_records import store_snapshot


def load(engines: tuple[Engine, Engine], kind: str, path: Path, mapping: str, **options: bool):  # type: ignore[no-untyped-def]
    return ingest_file(*engines, kind, path, load_mapping(mapping), **options)


def minneapolis_areas(engines: tuple[Engine, Engine]) -> None:
    load(
        engines, "areas", FIXTURES / "mpls_neighborhood_demographics_2015.csv", "minneapolis-areas"
    )


def test_minneapolis_areas_are_84_neighbourhoods_in_five_precincts(
    engines: tuple[Engine, Engine],
) -> None:
    report = load(
        engines, "areas", FIXTURES / "mpls_neighborhood_demographics_2015.csv", "minneapolis-areas"
    )

    assert (report.rows_read, report.rows_added) == (84, 84 + 9)
    with Session(engines[1]) as session:
        areas = session.scalars(select(Area)).all()
    by_level: dict[str, list[Area]] = {}
    for area in areas:
        by_level.setdefault(area.level, []).append(area)
    assert [a.code for a in by_level["city"]] == ["minneapolis"]
    assert sorted(a.code for a in by_level["district"]) == ["1", "2", "3", "4", "5"]
    assert len(by_level["beat"]) == 87
    assert sum(a.population is not None for a in by_level["beat"]) == 84
    cedar = next(a for a in by_level["beat"] if a.code == "cedar-riverside")
    assert (cedar.name, cedar.population, cedar.parent_code) == ("Cedar Riverside", 8247, "1")
    # Re-ingesting changes nothing.
    again = load(
        engines, "areas", FIXTURES / "mpls_neighborhood_demographics_2015.csv", "minneapolis-areas"
    )
    assert (again.rows_added, again.rows_updated, again.rows_already_present) == (0, 0, 93)


def test_minneapolis_stops_excerpt_ingests_whole_with_blanks_accounted(
    engines: tuple[Engine, Engine],
) -> None:
    minneapolis_areas(engines)
    path = FIXTURES / "mpls_stops_2017_excerpt.csv"

    dry = load(engines, "stops", path, "minneapolis-stops", dry_run=True)
    report = load(engines, "stops", path, "minneapolis-stops")

    assert dry.rows_rejected == 0 and report.rows_added == report.rows_read == 999
    race = dry.category_counts["subject_race"]
    assert sum(race.values()) == 999 and race["unknown"] > 0
    # Non-MDC stops have blank search fields; they count as unknown, never dropped.
    assert dry.category_counts["search_conducted"]["unknown"] > 0
    with engines[0].connect() as connection:
        first = connection.execute(
            text("SELECT occurred_at FROM stops WHERE source_id = '17-000003'")
        ).scalar_one()
    # 06:00:42 UTC on 1 January is 00:00:42 in Minneapolis (CST, UTC-6).
    assert str(first).startswith("2017-01-01 00:00:42")
    assert load(engines, "stops", path, "minneapolis-stops").rows_added == 0


def test_minneapolis_incidents_excerpt_with_its_bom_and_odd_precincts(
    engines: tuple[Engine, Engine],
) -> None:
    path = FIXTURES / "mpls_police_incidents_2017_excerpt.csv"

    report = load(engines, "incidents", path, "minneapolis-incidents")

    assert report.rows_rejected == 0 and report.rows_added == report.rows_read
    with engines[0].connect() as connection:
        districts = dict(
            connection.execute(
                text("SELECT district, COUNT(*) FROM incidents GROUP BY district")
            ).all()
        )
        against = set(
            connection.execute(text("SELECT DISTINCT crime_against FROM incidents")).scalars()
        )
    assert set(districts) == {"1", "2", "3", "4", "5", "unknown"}
    assert districts["unknown"] == 48  # 38 blank precincts and 10 "18"
    assert against == {"person", "property"}


def test_minneapolis_use_of_force_excerpt_with_numeric_ages(engines: tuple[Engine, Engine]) -> None:
    report = load(
        engines, "force", FIXTURES / "mpls_police_use_of_force_excerpt.csv", "minneapolis-force"
    )

    assert report.rows_rejected == 0 and report.rows_added == report.rows_read == 995
    with engines[0].connect() as connection:
        first = connection.execute(
            text(
                "SELECT occurred_at, force_type, subject_age_band, district FROM force_events "
                "WHERE source_id = '20588'"
            )
        ).one()
    # 2016/01/01 00:47:36, Bodily Force, age 20.0, precinct 1
    assert str(first.occurred_at).startswith("2016-01-01 00:47:36")
    assert (first.force_type, first.subject_age_band, first.district) == ("bodily", "18_24", "1")


def test_the_oakland_excerpt_is_refused_with_its_bad_rows_named(
    engines: tuple[Engine, Engine],
) -> None:
    before = store_snapshot(engines[0])

    with pytest.raises(IngestRefused) as refused:
        load(engines, "stops", FIXTURES / "ca_oakland_2020_04_01_SHORT.csv", "stanford-opp")

    message = str(refused.value)
    assert "line 2, column 'date+time', value 'NA 01:33:00': occurred_at is required" in message
    assert "line 12" in message and "the row has 26 fields but the header has 28" in message
    assert store_snapshot(engines[0]) == before


@pytest.mark.realdata
def test_the_full_minneapolis_files_ingest_whole(engines: tuple[Engine, Engine]) -> None:
    stops = shared_file("minneapolis", "mpls_stops_2017.csv")
    force = shared_file("minneapolis", "mpls_police_use_of_force.csv")
    incidents = shared_file("minneapolis", "mpls_police_incidents_2017.csv")
    areas = shared_file("minneapolis", "mpls_neighborhood_demographics_2015.csv")

    assert load(engines, "areas", areas, "minneapolis-areas").rows_added == 93
    dry = load(engines, "stops", stops, "minneapolis-stops", dry_run=True)
    # Known dirt, accounted for: 8,221 non-MDC stops have blank race and search fields.
    assert dry.category_counts["search_conducted"]["unknown"] == 8_221
    assert dry.rows_added == 51_920 and dry.rows_rejected == 0
    first = load(engines, "stops", stops, "minneapolis-stops")
    assert (first.rows_read, first.rows_added, first.rows_rejected) == (51_920, 51_920, 0)
    assert load(engines, "incidents", incidents, "minneapolis-incidents").rows_added == 14_109
    assert load(engines, "force", force, "minneapolis-force").rows_added == 12_925
    again = load(engines, "stops", stops, "minneapolis-stops")
    assert (again.rows_added, again.rows_already_present) == (0, 51_920)
