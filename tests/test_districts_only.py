"""A department that has districts but no beats publishes its tables by month and district,
counted from the district on each record, with no invented beats: the areas it declares
(public) decide that, never its records."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import Engine

from portal.settings import Settings
from portal.web.app import create_app
from privacy.ingest import ingest_file, load_mapping
from privacy.release.build import build_release
from privacy.release.periods import Quarter
from privacy.release.policy import load_policy
from privacy.release.shape import release_shape
from publishing.catalog import load_catalog
from tests.canonical import stop_row, two_districts, write_stops

ROOT = Path(__file__).resolve().parents[1]
QUARTERLY = load_policy("quarterly")


def districts_only(engines: tuple[Engine, Engine], tmp_path: Path, stops: int) -> None:
    """A city of two districts and no beats; ``stops`` stops in 2024Q1, two in three in d1;
    a stops mapping that has no beat column."""
    internal, public = engines
    path = two_districts(tmp_path / "areas.csv")
    ingest_file(internal, public, "areas", path, load_mapping("synthetic-areas"))
    text = (ROOT / "privacy" / "mappings" / "synthetic-stops.toml").read_text()
    text = text.replace('[fields.beat]\ncolumn = "beat"\n', "")
    mapping = tmp_path / "no-beats.toml"
    mapping.write_text(text.replace('name = "synthetic-stops"', 'name = "no-beats"'))
    records = [
        stop_row(
            n, district="d2" if n % 3 == 0 else "d1", occurred_at=f"2024-0{1 + n % 3}-05T10:00:00"
        )
        for n in range(stops)
    ]
    path = write_stops(tmp_path / "stops.csv", records)
    ingest_file(internal, public, "stops", path, load_mapping(mapping))


def test_tables_by_beat_are_published_by_district(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    districts_only(engines, tmp_path, 600)
    internal, public = engines
    built = build_release(internal, public, "2024Q1", QUARTERLY, actor="test")
    catalog = load_catalog(public)

    assert catalog.table("2024Q1", "stops_by_month_beat") is None
    monthly = catalog.table("2024Q1", "stops_by_month_beat_district")
    assert monthly is not None and monthly.level_of is None
    assert monthly.dimensions == ("month", "district")
    assert {c.key[1] for c in monthly.cells} == {"d1", "d2", "unknown"}
    north = sum(c.unbiased for c in monthly.cells if c.key[1] == "d1")
    assert abs(north - 400) < 60  # counted from the record's district, not lost to unknown
    withheld = dict(catalog.current["2024Q1"].statement.withheld)
    assert withheld["stops_by_month_beat"] == (
        "this department declares no beats: published as stops_by_month_beat_district"
    )
    assert built.tables == len(catalog.tables(built.release_id))

    url = str(public.url.render_as_string(hide_password=False))
    settings = Settings(
        data_dir=tmp_path, internal_db_url=str(internal.url), public_db_url=url, site_db_url=url
    )
    with TestClient(app=create_app(settings)) as client:
        pages = [client.get(path) for path in ("/", "/stops", "/stops?district=d1", "/crime")]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    assert "North" in pages[2].text


def test_the_shape_depends_on_the_declared_areas_only(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    districts_only(engines, tmp_path, 30)
    first = release_shape(public, Quarter.parse("2024Q1"), QUARTERLY)
    more = write_stops(tmp_path / "one-more.csv", [stop_row(999, district="d1")])
    ingest_file(internal, public, "stops", more, load_mapping("synthetic-stops"))
    again = release_shape(public, Quarter.parse("2024Q1"), QUARTERLY)

    assert [(p.part.name, p.keys) for p in first.parts] == [
        (p.part.name, p.keys) for p in again.parts
    ]
    assert first.withheld == again.withheld
    assert not any("beat" in p.part.dimensions for p in first.parts)
