"""The API across releases: ``latest`` leads to the newest quarter's release and moves with
it, and a table's series is, quarter by quarter, exactly what each release's own address
answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app
from publishing.catalog import Catalog
from publishing.opendata import MEASURES

pytestmark = pytest.mark.parametrize("published_city", ["sqlite"], indirect=True)


@pytest.fixture
def client(published_city: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(published_city)) as test_client:
        yield test_client


def test_latest_redirects_to_the_newest_release_keeping_the_rest_and_the_query(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    newest = catalog.current[catalog.periods[-1]].id
    base = f"/api/v1/releases/{newest}"

    for rest, query in (("", ""), ("/tables", ""), ("/tables/stops_by_district", "district=d3")):
        alias = client.get(
            f"/api/v1/releases/latest{rest}", params=query or None, follow_redirects=False
        )
        assert alias.status_code == 307
        assert alias.headers["location"] == base + rest + (f"?{query}" if query else "")
        assert alias.headers["cache-control"] == "no-cache"  # it moves with each release
        followed = client.get(f"/api/v1/releases/latest{rest}", params=query or None)
        assert followed.json() == client.get(alias.headers["location"]).json()


def test_a_series_is_each_quarters_release_answer(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    series = client.get("/api/v1/series/stops_by_district", params={"district": "d3"})

    assert series.status_code == 200
    body = series.json()
    assert [p["period"] for p in body["releases"]] == list(catalog.periods)
    assert body["filters"] == {"district": "d3"} and body["dimensions"] == ["quarter", "district"]
    for point in body["releases"]:
        assert point["release_id"] == catalog.current[point["period"]].id
        one = client.get(
            f"/api/v1/releases/{point['release_id']}/tables/stops_by_district",
            params={"district": "d3"},
        ).json()
        assert point["cells"] == one["cells"]


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        (
            "/api/v1/series/stops_by_district",
            {"district": "Central"},
            400,
            "table stops_by_district has no district 'Central'; its district values are: d1,",
        ),
        (
            "/api/v1/series/stops_by_district",
            {"colour": "red"},
            400,
            "table stops_by_district cannot be filtered by colour",
        ),
        (
            "/api/v1/series/nope",
            {},
            404,
            "no release has a table 'nope'; the tables are: force_by_district,",
        ),
    ],
)
def test_a_series_that_cannot_be_answered_says_what_exists(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    params: dict[str, str],
    status: int,
    detail: str,
) -> None:
    refused = client.get(path, params=params)

    assert refused.status_code == status
    assert detail in refused.json()["detail"]
    assert "cache-control" not in refused.headers


def test_the_api_gives_every_number_as_the_tables_own_files_do(
    client: TestClient,  # type: ignore[type-arg]
    catalog: Catalog,
) -> None:
    """One public form: the API's metadata and cells are the table's JSON file's, field for
    field, and its CSV's; only the key and labels are arranged differently."""
    release = catalog.current[catalog.periods[-1]].id
    for name in ("stops_by_district", "stops_by_district_race", "stops_by_outcome"):
        api = client.get(f"/api/v1/releases/{release}/tables/{name}").json()
        file = client.get(f"/releases/{release}/tables/{name}.json").json()
        csv_rows = client.get(f"/releases/{release}/tables/{name}.csv").text.splitlines()[1:]

        metadata = {k: v for k, v in api["table"].items() if k not in ("cells", "url", "csv")}
        assert metadata == {k: v for k, v in file.items() if k in metadata}
        assert set(file) - set(metadata) == {"release_id", "period", "cells"}
        assert len(api["cells"]) == len(file["cells"]) == len(csv_rows) == api["table"]["cells"]
        for mine, theirs, row in zip(api["cells"], file["cells"], csv_rows, strict=True):
            flat = {**mine["key"], **{f"{k}_label": v for k, v in mine["labels"].items()}}
            measures = {k: v for k, v in mine.items() if k not in ("key", "labels")}
            assert {**flat, **measures} == theirs
            written = [float(x) if x else None for x in row.split(",")[-5:]]
            assert written == [measures[k] for k in MEASURES]
