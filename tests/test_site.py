"""The public site, through Litestar's test client: every page and API route, the open data,
the caching and security headers, and bad input answered with a helpful 4xx, never a 500.

The site is built over a small synthetic city whose twelve quarters were all released (the
demo's data), once with SQLite stores and once with PostgreSQL ones.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from collections.abc import Iterator
from datetime import date
from html import unescape
from pathlib import Path

import frictionless
import pytest
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app
from portal.web.headers import SECURITY_HEADERS
from publishing import opendata
from publishing.areas import department_name
from publishing.catalog import Catalog
from publishing.charts import interval_text
from publishing.estimates import Z95, Estimate
from publishing.headlines import (
    crime_headline,
    headline_trends,
    headlines,
    released_total,
    year_to_date,
)
from publishing.labels import label
from publishing.periods import (
    day_words,
    quarter_between,
    quarter_end,
    quarter_words,
)


@pytest.fixture(scope="module")
def client(published_city: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(published_city)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def latest(client: TestClient) -> dict[str, object]:  # type: ignore[type-arg]
    releases = client.get("/api/v1/releases").json()
    current = [r for r in releases if r["current"]]
    return max(current, key=lambda r: r["period"])  # type: ignore[no-any-return]


def text_of(html: str) -> str:
    """The page's main text, tags removed and spaces collapsed."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def test_the_home_page_names_the_department_its_coverage_and_offers_every_quarter(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    page = client.get("/").text
    words = text_of(page)
    updated = max(r.created_at for r in catalog.releases).date()

    assert f"<h1>{catalog.department}</h1>" in page
    assert catalog.department == "Riverton Police Department"  # the demo's city, no profile name
    assert f"Data through 31 December 2025 · last updated {day_words(updated)}" in words
    options = re.findall(r'<option value="(\d{4}Q\d)"[^>]*>([^<]*)</option>', page)
    assert [value for value, _ in options] == list(reversed(catalog.periods))
    assert ("2024Q3", "July to September 2024 (2024Q3)") in options
    assert "between October and December 2025" in words
    assert "-0.0" not in words and "the city" not in words


def test_a_districts_page_gives_each_beat_its_released_quarter(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    page = text_of(client.get("/districts/d3?period=2024Q3").text)
    beats = [b for b in catalog.areas_at("beat") if b.parent == "d3"]
    stops = catalog.table("2024Q3", "stops_by_month_beat")
    crimes = catalog.table("2024Q3", "incidents_by_month_beat_offense")
    counted = crime_headline(catalog, "2024Q3").codes

    assert len(beats) == 10
    for beat in beats:
        beat_stops = released_total(stops, beat=beat.code)
        beat_crimes = released_total(crimes, beat=beat.code, offense_category=counted)
        assert beat_stops is not None and beat_crimes is not None
        row = f"{beat.name} ({beat.code}) {interval_text(beat_stops)} {interval_text(beat_crimes)}"
        assert row in page
    codes = {b.code for b in beats}
    for area in catalog.focus_areas.values():  # named there when one of its beats is d3's
        reaches = bool(codes & set(area.beats.get("member", ())))
        assert (f"{area.name} : focused work from {area.start}" in page) == reaches


def test_each_headline_has_its_small_trend_ending_with_the_quarter_shown(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    page = client.get("/?period=2025Q4").text
    trends = headline_trends(catalog, "2025Q4")

    assert {"stops", "no_action", "searches", "crimes", "force"} <= set(trends)
    assert [row[0] for row in trends["stops"].table.rows] == catalog.periods[-8:]
    for figure in headlines(catalog, "2025Q4"):
        if figure.key not in trends:
            continue
        trend = trends[figure.key]
        shown = [row[0] for row in trend.table.rows]
        # every quarter of the last eight with the figure (a share needs a clear denominator)
        assert shown == [p for p in catalog.periods[-8:] if p in shown] and shown[-1] == "2025Q4"
        assert trend.table.rows[-1][1] == figure.value_text()  # the same figure, twice
        assert f'id="trend-{figure.key}-plot"' in page


def test_the_year_to_date_adds_the_years_releases(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    cells = [catalog.table(f"2025Q{n}", "stops_in_quarter").cells[0] for n in (1, 2, 3)]  # type: ignore[union-attr]
    value = math.fsum(c.unbiased for c in cells)
    se = math.sqrt(math.fsum(c.std_error**2 for c in cells))  # type: ignore[operator]
    expected = interval_text(Estimate(value, value - Z95 * se, value + Z95 * se, se))

    ytd = year_to_date(catalog, "2025Q3")
    page = text_of(client.get("/?period=2025Q3").text)

    assert ytd is not None and ytd.words() == "January to September 2025 (2025Q1 to 2025Q3)"
    assert dict(ytd.figures)["Stops"] == expected
    assert f"Year to date: {ytd.words()}" in page and f"Stops {expected}" in page
    assert year_to_date(catalog, "2025Q1") is None  # one quarter is the quarter itself
    assert "Year to date" not in text_of(client.get("/?period=2025Q1").text)


@pytest.mark.parametrize(
    ("profile", "city", "name"),
    [
        (None, "Riverton", "Riverton Police Department"),
        (None, "City of London Police area", "City of London Police area"),
        ("Metro PD", "Riverton", "Metro PD"),
        (None, None, "Police Department"),
    ],
)
def test_the_department_is_named_once_for_every_surface(
    profile: str | None, city: str | None, name: str
) -> None:
    assert department_name(profile, city) == name


def test_quarters_read_in_words() -> None:
    assert quarter_words("2025Q4") == "October to December 2025"
    assert quarter_words("2024Q1") == "January to March 2024"
    assert quarter_between("2025Q2") == "between April and June 2025"
    assert quarter_end("2024Q1") == date(2024, 3, 31) and quarter_end("2025Q4") == date(
        2025, 12, 31
    )


PAGES = [
    ("/", "October to December 2025 (2025Q4) at a glance"),
    ("/stops", "Stops per month, Riverton"),
    ("/stops?period=2024Q3&district=d3", "Stops by race,"),
    ("/crime", "Reported crimes per month by offence, Riverton"),
    ("/crime?district=d2", "Reported crimes per month by offence,"),
    ("/force", "Uses of force per quarter, Riverton"),
    ("/districts", "Central (d3): 10 beats"),
    ("/districts/d3?period=2024Q3", "Beats, July to September 2024"),
    ("/force?period=2024Q3&district=d3", "Uses of force by race, Central, 2024Q3"),
    ("/focus-areas", "Eastport corridor"),
    ("/focus-areas/fa1", "Difference-in-differences estimates, Eastport corridor"),
    ("/releases", "All releases, newest first"),
    ("/methodology", "What an interval means"),
]


@pytest.mark.parametrize(("path", "expected"), PAGES)
def test_every_page_answers_with_its_content(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    expected: str,
) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in response.text
    assert expected in text_of(response.text)
    assert all(f'href="{href}"' in response.text for href in ("/stops", "/reports", "/releases"))


def test_the_home_page_shows_the_released_figures(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    stops = catalog.table("2025Q4", "stops_in_quarter")
    assert stops is not None
    (cell,) = stops.cells

    page = text_of(client.get("/").text)

    assert f"{cell.value:,} ({cell.ci_low:,} to {cell.ci_high:,})" in page
    assert "on 2024Q4" in page  # the change on the same quarter a year earlier


def test_every_chart_has_a_sentence_a_figure_and_a_data_table(client: TestClient) -> None:  # type: ignore[type-arg]
    html = client.get("/stops").text

    charts = re.findall(r'<figure class="chart".*?</figure>', html, flags=re.S)
    assert len(charts) == 11
    for chart in charts:
        assert '<p class="sentence">' in chart
        figure = json.loads(
            re.search(r'type="application/json"[^>]*>(.*?)</script>', chart, flags=re.S).group(1)
        )  # type: ignore[union-attr]
        assert figure["data"] and figure["layout"]["title"]["text"]
        assert "<table>" in chart and "<caption>" in chart and 'scope="col"' in chart


def test_a_release_page_has_its_policy_budget_tables_and_downloads(
    client: TestClient, latest: dict[str, object]
) -> None:  # type: ignore[type-arg]
    page = text_of(client.get(f"/releases/{latest['id']}").text)

    assert "This release spent zCDP rho" in page
    assert 'name = "quarterly"' in page  # the policy file itself
    html = client.get(f"/releases/{latest['id']}").text
    assert f"/releases/{latest['id']}/tables/stops_by_month.csv" in html
    assert f"/releases/{latest['id']}/datapackage.json" in html


def test_a_table_downloads_as_csv_and_json_exactly_as_exported(
    client: TestClient,
    latest: dict[str, object],  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    release = catalog.release(str(latest["id"]))
    assert release is not None
    table = catalog.tables(release.id)["stops_by_district"]

    as_csv = client.get(f"/releases/{release.id}/tables/stops_by_district.csv")
    as_json = client.get(f"/releases/{release.id}/tables/stops_by_district.json")

    assert as_csv.content == opendata.table_csv(release, table)
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == (
        f'attachment; filename="{release.period}-{release.id[:12]}-stops_by_district.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["district"] for r in rows] == [c.key[1] for c in table.cells]
    assert as_json.json()["cells"][0]["value"] == table.cells[0].value


def test_every_open_data_file_the_site_serves_is_the_written_one_byte_for_byte(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    release = catalog.current[catalog.periods[-1]]
    tables = catalog.tables(release.id)
    areas = catalog.frozen_areas(release.id)
    written = dict(opendata.open_data_files(release, tables, areas))
    opendata.write_open_data(release, tables, tmp_path, areas)

    assert {"datapackage.json", "codes.csv", "areas.csv"} <= set(written)

    for relative, content in written.items():
        served = client.get(f"/releases/{release.id}/{relative}")
        assert served.status_code == 200, relative
        assert served.content == content == (tmp_path / relative).read_bytes(), relative


def test_the_area_list_names_every_code_the_tables_use(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    as_csv = client.get("/areas.csv")
    as_api = client.get("/api/v1/areas").json()
    as_geojson = client.get("/areas.geojson")

    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert "immutable" not in as_csv.headers["cache-control"]  # it follows the store
    assert [r["code"] for r in rows] == [a["code"] for a in as_api]
    assert rows[0] == {
        "code": as_api[0]["code"],
        "level": "city",
        "name": as_api[0]["name"],
        "parent_code": "",
        "population": str(as_api[0]["population"] or ""),
    }
    named = {a["code"]: a["name"] for a in as_api}
    release = catalog.current[catalog.periods[-1]]
    used = {
        code
        for table in catalog.tables(release.id).values()
        for dimension in ("district", "beat")
        if dimension in table.dimensions
        for code in table.values_of(dimension)
    }
    assert used - {"unknown"} <= set(named) and len(used) > 20
    features = as_geojson.json()["features"]
    assert as_geojson.headers["content-type"] == "application/geo+json"
    assert {f["id"] for f in features} == {a.code for a in catalog.areas.values() if a.boundary}
    assert all(f["properties"]["name"] == named[f["id"]] for f in features)


def test_each_code_is_published_with_its_label_beside_it(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    release = catalog.current[catalog.periods[-1]]
    base = f"/releases/{release.id}/tables/stops_by_race"
    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv").text)))
    cells = client.get(f"{base}.json").json()["cells"]
    api = client.get(f"/api/v1/releases/{release.id}/tables/stops_by_race").json()["cells"]

    assert list(rows[0])[:3] == ["quarter", "subject_race", "subject_race_label"]
    assert [r["subject_race_label"] for r in rows] == [label(r["subject_race"]) for r in rows]
    assert "Not recorded" in {r["subject_race_label"] for r in rows}
    assert [c["subject_race_label"] for c in cells] == [r["subject_race_label"] for r in rows]
    assert [c["labels"] for c in api] == [{"subject_race": r["subject_race_label"]} for r in rows]


def test_every_code_in_the_tables_is_defined_once_with_its_label(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    release = catalog.current[catalog.periods[-1]]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/releases/{release.id}/codes.csv").text)))
    defined = {(r["field"], r["code"]): r["label"] for r in rows}
    used = {
        (dimension, code)
        for table in catalog.tables(release.id).values()
        for dimension in table.dimensions
        if dimension not in ("month", "quarter", "district", "beat")
        for code in table.values_of(dimension)
    }

    assert set(defined) == used and len(rows) == len(defined)
    assert defined[("outcome", "none")] == "No warning or enforcement"
    assert defined[("subject_race", "unknown")] == "Not recorded"
    page = text_of(client.get(f"/releases/{release.id}/data-dictionary").text)
    assert "outcome none No warning or enforcement" in page


def test_the_datapackage_validates_with_frictionless(
    client: TestClient,
    latest: dict[str, object],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    base = f"/releases/{latest['id']}"
    package = client.get(f"{base}/datapackage.json").json()
    (tmp_path / "datapackage.json").write_text(json.dumps(package))
    for resource in package["resources"]:
        target = tmp_path / resource["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get(f"{base}/{resource['path']}").content)

    report = frictionless.validate(tmp_path / "datapackage.json")

    assert report.valid, report.flatten(["type", "note"])
    assert {r["name"] for r in package["resources"]} >= {"stops_by_month", "stops_by_district"}


def test_the_data_dictionary_describes_every_column(
    client: TestClient, latest: dict[str, object]
) -> None:  # type: ignore[type-arg]
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/releases/{latest['id']}/data-dictionary.csv").text)
        )
    )
    page = client.get(f"/releases/{latest['id']}/data-dictionary")

    assert page.status_code == 200
    assert {(r["table"], r["field"]) for r in rows} >= {
        ("stops_by_district", "district"),
        ("stops_by_district", "value"),
    }
    assert all(r["description"].strip() for r in rows)


def test_the_api_lists_releases_tables_and_filtered_cells(
    client: TestClient, latest: dict[str, object]
) -> None:  # type: ignore[type-arg]
    releases = client.get("/api/v1/releases").json()
    detail = client.get(f"/api/v1/releases/{latest['id']}").json()
    tables = client.get(f"/api/v1/releases/{latest['id']}/tables").json()
    cells = client.get(
        f"/api/v1/releases/{latest['id']}/tables/stops_by_month_beat", params={"beat": "d1b01"}
    ).json()

    assert len(releases) == 12 and sum(r["current"] for r in releases) == 12
    assert detail["release"]["period"] == "2025Q4"
    assert "stops_by_month_beat" in {t["name"] for t in tables}
    assert [c["key"]["month"] for c in cells["cells"]] == ["2025-10", "2025-11", "2025-12"]
    assert all(c["ci_low"] <= c["value"] <= c["ci_high"] for c in cells["cells"])


def test_the_openapi_schema_is_served(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/api/v1/schema/openapi.json").json()

    assert schema["info"]["title"] == "Police Transparency Portal API"
    assert "/api/v1/releases/{release_id}/tables/{name}" in schema["paths"]


BAD = [
    ("/stops?period=2025-3", 400, "period must look like 2025Q3"),
    ("/stops?period=1999Q1", 404, "there is no release for 1999Q1"),
    ("/stops?district=zz", 400, "there is no district 'zz'; districts: d1 ("),
    ("/stops?district=Central", 400, "there is no district 'Central' (the district named"),
    ("/stops?district=%3Cscript%3E", 400, "district must be a district code"),
    ("/crime?period=2025Q9", 400, "period must look like 2025Q3"),
    ("/focus-areas/nowhere", 404, "there is no focus area 'nowhere'"),
    ("/districts/zz", 404, "there is no district 'zz'; districts: d1 ("),
    ("/releases/nope", 404, "there is no release 'nope'"),
    ("/releases/nope/datapackage.json", 404, "there is no release 'nope'"),
    ("/no/such/page", 404, "There is no page at /no/such/page"),
    ("/static/nothing.js", 404, "there is no file 'nothing.js'"),
]


@pytest.mark.parametrize(("path", "status", "message"), BAD)
def test_bad_input_gets_a_helpful_page(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    status: int,
    message: str,
) -> None:
    response = client.get(path)

    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert message in text_of(response.text)
    assert "Traceback" not in response.text


def test_bad_input_under_the_api_gets_json(
    client: TestClient,  # type: ignore[type-arg]
    latest: dict[str, object],
) -> None:
    base = f"/api/v1/releases/{latest['id']}"
    unknown_release = client.get("/api/v1/releases/nope")
    unknown_table = client.get(f"{base}/tables/nope")
    bad_filter = client.get(f"{base}/tables/stops_by_district", params={"colour": "red"})

    assert unknown_release.status_code == 404
    assert unknown_release.json() == {
        "status_code": 404,
        "detail": "there is no release 'nope'; see /releases for the list",
    }
    assert unknown_table.status_code == 404
    assert "its tables are:" in unknown_table.json()["detail"]
    assert bad_filter.status_code == 400
    assert "cannot be filtered by colour" in bad_filter.json()["detail"]


def test_a_table_page_and_an_unknown_table(
    client: TestClient,  # type: ignore[type-arg]
    latest: dict[str, object],
) -> None:
    page = client.get(f"/releases/{latest['id']}/tables/stops_by_district")
    missing = client.get(f"/releases/{latest['id']}/tables/stops_by_shoe_size.csv")

    assert page.status_code == 200 and "<caption>Stops by district," in page.text
    assert missing.status_code == 404
    assert "has no table 'stops_by_shoe_size'" in text_of(missing.text)


@pytest.mark.parametrize(
    "path",
    ["/", "/stops", "/static/site.css", "/api/v1/releases", "/releases/nope", "/stops?period=x"],
)
def test_every_response_carries_the_security_headers_and_no_cookie(
    client: TestClient, path: str
) -> None:  # type: ignore[type-arg]
    response = client.get(path)

    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers


def test_pages_are_cached_with_an_etag(client: TestClient) -> None:  # type: ignore[type-arg]
    first = client.get("/stops")
    again = client.get("/stops", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "public, max-age=60"
    assert again.status_code == 304 and again.content == b""


def test_release_files_are_immutable(
    client: TestClient,  # type: ignore[type-arg]
    latest: dict[str, object],
) -> None:
    response = client.get(f"/releases/{latest['id']}/tables/stops_by_month.csv")

    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_nothing_is_fetched_from_another_origin(client: TestClient) -> None:  # type: ignore[type-arg]
    for path, _ in PAGES:
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_a_first_visit_to_the_home_page_is_under_one_megabyte(client: TestClient) -> None:  # type: ignore[type-arg]
    gzip_ok = {"Accept-Encoding": "gzip"}
    page = client.get("/", headers=gzip_ok)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    # The home page has no charts; the stops page is the heaviest first visit.
    stops = client.get("/stops", headers=gzip_ok)
    assets += re.findall(r'(?:src|href)="(/static/[^"]+)"', stops.text)

    sent = 0
    for path in ["/", "/stops", *sorted(set(assets))]:
        raw = client.get(path, headers=gzip_ok)
        # httpx undoes gzip; measure what went over the wire.
        encoded = raw.headers.get("content-encoding") == "gzip"
        sent += len(gzip.compress(raw.content, 6)) if encoded else len(raw.content)

    assert any("plotly-basic.min.js" in a for a in assets)
    assert sent < 1_000_000, sent
