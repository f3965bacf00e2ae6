"""HTTP done right: HEAD on every GET route, ``Allow`` on every 405, times with their UTC
offset, and the security headers exactly once on every answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app
from portal.web.headers import SECURITY_HEADERS

if TYPE_CHECKING:
    from portal.web.app import Site


@pytest.fixture(scope="module")
def client(published_city: Settings) -> Iterator[TestClient[Site]]:
    with TestClient(create_app(published_city)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def release(client: TestClient[Site]) -> str:
    releases = client.get("/api/v1/releases").json()
    return str(max((r for r in releases if r["current"]), key=lambda r: r["period"])["id"])


GET_ROUTES = [
    "/",
    "/stops?period=2024Q3&district=d3",
    "/crime",
    "/focus-areas",
    "/focus-areas/fa1",
    "/releases",
    "/releases/{r}",
    "/releases/{r}/tables/stops_by_district",
    "/releases/{r}/tables/stops_by_district.csv",
    "/releases/{r}/tables/stops_by_district.json",
    "/releases/{r}/datapackage.json",
    "/releases/{r}/data-dictionary",
    "/releases/{r}/data-dictionary.csv",
    "/methodology",
    "/reports",
    "/static/site.css",
    "/api/v1/releases",
    "/api/v1/releases/{r}",
    "/api/v1/releases/{r}/tables",
    "/api/v1/releases/{r}/tables/stops_by_district?district=d2",
    "/api/v1/schema/openapi.json",
    "/releases/nope",  # an error answers HEAD as it answers GET
    "/stops?period=x",
]


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "date"]


@pytest.mark.parametrize("route", GET_ROUTES)
@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_head_answers_every_get_route_with_its_headers_and_no_body(
    client: TestClient[Site], release: str, route: str, encoding: str
) -> None:
    path = route.format(r=release)
    for _ in range(2):  # the second time from the answer cache, where the page is kept
        got = client.get(path, headers={"Accept-Encoding": encoding})
        head = client.head(path, headers={"Accept-Encoding": encoding})

        assert head.status_code == got.status_code
        assert head.content == b""
        assert without_date(head.headers.multi_items()) == without_date(got.headers.multi_items())
        assert head.headers["content-length"] == got.headers["content-length"]


@pytest.mark.parametrize("route", ["/", "/stops", "/releases/{r}", "/api/v1/releases", "/nope"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_every_405_says_which_methods_the_route_takes(
    client: TestClient[Site], release: str, route: str, method: str
) -> None:
    answer = client.request(method, route.format(r=release))

    if route == "/nope":
        assert answer.status_code == 404  # no route: nothing to allow
        return
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD, OPTIONS"
    assert f"does not take {method} requests" in answer.text
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get_list(name) == [value]


def test_options_lists_head_with_get(client: TestClient[Site]) -> None:
    assert client.options("/stops").headers["allow"] == "GET, HEAD, OPTIONS"


def test_every_time_the_api_gives_carries_its_utc_offset(
    client: TestClient[Site], release: str
) -> None:
    listed = client.get("/api/v1/releases").json()
    detail = client.get(f"/api/v1/releases/{release}").json()
    times = [r["created_at"] for r in listed] + [detail["release"]["created_at"]]

    for text in times:
        moment = datetime.fromisoformat(text)
        assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, text


def test_the_release_page_and_the_datapackage_give_utc_times(
    client: TestClient[Site], release: str
) -> None:
    page = client.get(f"/releases/{release}").text
    package = client.get(f"/releases/{release}/datapackage.json").json()
    api = client.get(f"/api/v1/releases/{release}").json()["release"]["created_at"]

    machine = re.search(r'<time datetime="([^"]+)">', page)
    assert machine is not None and machine[1].endswith("Z")
    assert datetime.fromisoformat(machine[1]) == datetime.fromisoformat(api).replace(microsecond=0)
    assert package["created"].endswith("Z")


@pytest.mark.parametrize(
    "path",
    ["/", "/stops", "/static/site.css", "/api/v1/releases", "/releases/nope", "/stops?x=1"],
)
def test_the_security_headers_are_sent_exactly_once(client: TestClient[Site], path: str) -> None:
    for _ in range(2):  # made, then replayed from the answer cache
        answer = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get_list(name) == [value]
