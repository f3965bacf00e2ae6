"""The site sees every public change: the database bumps the public store's revision on each
write to a published table, by the portal or by hand, so renaming an area or moving a
focus area's start reaches a running site without a restart."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from litestar.testing import TestClient
from rich.console import Console
from sqlalchemy import Engine, text

from portal.cli.demo import run_demo
from portal.settings import Settings
from portal.stores import make_engine
from portal.web import state
from portal.web.app import create_app
from privacy.ingest import ingest_file, load_mapping
from publishing.catalog import catalog_version
from tests.canonical import AREAS_HEADER, small_city_rows, write_csv


def test_every_write_to_a_published_table_moves_the_version(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    areas = write_csv(tmp_path / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(internal, public, "areas", areas, load_mapping("synthetic-areas"))
    versions = [catalog_version(public)]

    def after(sql: str) -> None:
        with public.begin() as connection:
            connection.execute(text(sql))
        versions.append(catalog_version(public))

    after("UPDATE areas SET name = 'Harbour Flats' WHERE code = 'd1'")  # same count
    after("UPDATE areas SET population = 1234 WHERE code = 'd1b1'")
    after(
        "INSERT INTO focus_areas (code, name, intervention_start) "
        "VALUES ('fa9', 'Test corridor', '2024-03-01')"
    )
    after("UPDATE focus_areas SET intervention_start = '2024-04-01' WHERE code = 'fa9'")
    after("INSERT INTO focus_area_beats VALUES ('fa9', 'd1b1', 'member')")
    after("UPDATE focus_area_beats SET role = 'comparison' WHERE focus_area_code = 'fa9'")
    after("DELETE FROM focus_area_beats WHERE focus_area_code = 'fa9'")

    assert len(set(versions)) == len(versions)  # each write moved it
    with internal.begin() as connection:  # the internal store is not the site's business
        connection.execute(text("DELETE FROM stops"))
    assert catalog_version(public) == catalog_version(public) == versions[-1]


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic city with its releases, in SQLite files (copied by each test)."""
    directory = tmp_path_factory.mktemp("small-city")
    demo = run_demo(
        Settings.for_directory(directory),
        stops=1500,
        seed=7,
        console=Console(file=StringIO()),
        with_reports=False,
        audit_trials=0,
    )
    assert demo == 0
    return directory


def wait_for(client: TestClient, path: str, wanted: Callable[[str], bool]) -> str:  # type: ignore[type-arg]
    deadline = time.monotonic() + 20
    while True:
        page = client.get(path).text
        if wanted(page):
            return page
        assert time.monotonic() < deadline, f"{path} never showed the change"
        time.sleep(0.05)


def test_a_running_site_shows_a_renamed_area_and_a_moved_focus_area(
    small_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("internal.sqlite3", "public.sqlite3"):
        shutil.copy(small_city / name, tmp_path / name)
    settings = Settings.for_directory(tmp_path)
    public = make_engine(settings.public_db_url)
    with public.connect() as connection:
        district = connection.execute(text("SELECT name FROM areas WHERE code = 'd2'")).scalar_one()
        start = connection.execute(
            text("SELECT intervention_start FROM focus_areas WHERE code = 'fa1'")
        ).scalar_one()
    moved = (date.fromisoformat(str(start)) - timedelta(days=14)).isoformat()
    monkeypatch.setattr(state, "CATALOG_CHECK_SECONDS", 0.1)

    with TestClient(create_app(settings)) as client:
        assert district in client.get("/stops?district=d2").text  # now a kept answer
        before = client.get("/focus-areas").text
        latest = client.get("/api/v1/releases/latest", follow_redirects=True).json()["release"][
            "id"
        ]
        frozen = client.get(f"/releases/{latest}/areas.csv").text

        with public.begin() as connection:
            connection.execute(text("UPDATE areas SET name = 'Harbour Flats' WHERE code = 'd2'"))
            connection.execute(
                text("UPDATE focus_areas SET intervention_start = :d WHERE code = 'fa1'"),
                {"d": moved},
            )

        renamed = wait_for(client, "/stops?district=d2", lambda page: "Harbour Flats" in page)
        after = wait_for(client, "/focus-areas", lambda page: page != before)
        listed = client.get("/areas.csv").text
        still = client.get(f"/releases/{latest}/areas.csv").text
    public.dispose()
    assert district not in renamed
    # The release's own areas file keeps the names it was written with; the list follows.
    assert f"d2,district,{district}," in frozen and still == frozen
    assert "d2,district,Harbour Flats," in listed and f"d2,district,{district}," not in listed
    assert f"<td>{moved}</td>" in after and f"<td>{start}</td>" not in after
