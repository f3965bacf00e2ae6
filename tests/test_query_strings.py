"""Hostile query strings: unknown parameters are refused, valid URLs are kept once however
they are spelt, and the site's caches stay within their bounds whatever arrives.

An adversarial test once sent unique query strings to cached URLs and took each worker from
158 MB to 1.7 GB: every ``/stops?x=N`` was a page of its own to the answer cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app

if TYPE_CHECKING:
    from portal.web.app import Site


@pytest.fixture
def app(published_city: Settings) -> Site:
    return create_app(published_city)


@pytest.fixture
def client(app: Site) -> Iterator[TestClient[Site]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def release(client: TestClient[Site]) -> str:
    releases = client.get("/api/v1/releases").json()
    return str(max((r for r in releases if r["current"]), key=lambda r: r["period"])["id"])


def reason(response: object) -> str:
    """The message of an error page or of an API error."""
    content_type = response.headers["content-type"]  # type: ignore[attr-defined]
    if content_type.startswith("application/json"):
        return str(response.json()["detail"])  # type: ignore[attr-defined]
    main = response.text.split("<main", 1)[1].split("</main>", 1)[0]  # type: ignore[attr-defined]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


# Every route, with the query parameters it takes ("" for none). {r} is a release id.
ROUTES = [
    ("/", "it takes period"),
    ("/stops", "it takes district, period"),
    ("/crime", "it takes district, period"),
    ("/focus-areas", "no query parameters"),
    ("/focus-areas/fa1", "no query parameters"),
    ("/releases", "no query parameters"),
    ("/releases/{r}", "no query parameters"),
    ("/releases/{r}/tables/stops_by_district", "no query parameters"),
    ("/releases/{r}/tables/stops_by_district.csv", "no query parameters"),
    ("/releases/{r}/tables/stops_by_district.json", "no query parameters"),
    ("/releases/{r}/datapackage.json", "no query parameters"),
    ("/releases/{r}/data-dictionary", "no query parameters"),
    ("/releases/{r}/data-dictionary.csv", "no query parameters"),
    ("/methodology", "no query parameters"),
    ("/reports", "no query parameters"),
    ("/static/site.css", "it takes v"),
    ("/api/v1/releases", "no query parameters"),
    ("/api/v1/releases/{r}", "no query parameters"),
    ("/api/v1/releases/{r}/tables", "no query parameters"),
    ("/api/v1/schema/openapi.json", "no query parameters"),
]


@pytest.mark.parametrize(("route", "takes"), ROUTES)
def test_an_unknown_parameter_is_a_400_that_names_it_and_what_the_route_takes(
    app: Site, client: TestClient[Site], release: str, route: str, takes: str
) -> None:
    path = route.format(r=release)
    assert client.get(path).status_code == 200
    kept = len(app.answers)

    refused = client.get(path, params={"utm_source": "mail"})

    assert refused.status_code == 400
    assert "does not take the query parameter 'utm_source'" in reason(refused)
    assert takes in reason(refused)
    assert client.get(path, params={"utm_source": "mail"}).status_code == 400
    assert len(app.answers) == kept  # a 400 is never kept


def test_a_filter_the_table_does_not_have_and_a_value_it_lacks_are_400s_never_kept(
    app: Site, client: TestClient[Site], release: str
) -> None:
    base = f"/api/v1/releases/{release}/tables/stops_by_district"
    unknown = client.get(base, params={"colour": "red"})
    absent = client.get(base, params={"district": "zz"})
    kept = len(app.answers)
    again = client.get(base, params={"district": "zz"})
    kept_after = len(app.answers)
    present = client.get(base, params={"district": "d2"})

    assert unknown.status_code == 400 and "cannot be filtered by colour" in reason(unknown)
    assert absent.status_code == again.status_code == 400
    assert "has no district 'zz'; its district values are: d1," in reason(absent)
    assert kept_after == kept  # a 400 is never kept
    assert "cache-control" not in absent.headers
    assert present.status_code == 200 and len(present.json()["cells"]) >= 1


def test_a_parameter_given_twice_is_a_400(client: TestClient[Site]) -> None:
    twice = client.get("/stops?period=2025Q3&period=2024Q3")

    assert twice.status_code == 400
    assert "'period' is given 2 times" in reason(twice)


def test_an_old_version_of_a_static_file_redirects_to_the_current_one(
    client: TestClient[Site],
) -> None:
    page = client.get("/").text
    current = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', page)
    assert current is not None

    old = client.get("/static/site.css?v=0123456789", follow_redirects=False)

    assert old.status_code == 302 and old.headers["location"] == current[1]
    assert client.get(current[1]).status_code == 200


def spellings(query: list[tuple[str, str]]) -> list[str]:
    """Ways to write the same query: reordered, percent-encoded, with stray separators."""
    encoded = [(k, "".join(f"%{ord(c):02X}" for c in v)) for k, v in query]
    return [
        "&".join(f"{k}={v}" for k, v in query),
        "&".join(f"{k}={v}" for k, v in reversed(query)),
        "&&" + "&&".join(f"{k}={v}" for k, v in query) + "&",
        "&".join(f"{k}={v}" for k, v in encoded),
        "&".join(f"%{ord(k[0]):02x}{k[1:]}={v}" for k, v in reversed(query)),
    ]


def test_every_spelling_of_a_valid_url_shares_one_kept_answer(
    app: Site, client: TestClient[Site]
) -> None:
    kept = len(app.answers)
    answers = [
        client.get(f"/stops?{query}")
        for query in spellings([("period", "2024Q3"), ("district", "d3")])
    ]

    assert {a.status_code for a in answers} == {200}
    assert len({a.headers["etag"] for a in answers}) == 1
    assert len(app.answers) == kept + 1


def test_unique_query_strings_leave_the_caches_as_they_were(
    app: Site, client: TestClient[Site], release: str
) -> None:
    canonical = [
        "/stops?period=2024Q3&district=d3",
        "/api/v1/releases",
        f"/api/v1/releases/{release}/tables/stops_by_district?district=d2",
        "/releases",
    ]
    for url in canonical:
        assert client.get(url).status_code == 200
    kept, pages = len(app.answers), len(app.site)

    statuses = set()
    for n in range(150):
        hostile = [
            f"/stops?x{n}=1",
            f"/?utm_source=mail-{n}",
            f"/api/v1/releases?page={n}",
            f"/static/site.css?v=old{n}",
            f"/api/v1/releases/{release}/tables/stops_by_district?district=zz{n}",
            f"/releases?{'&' * (n % 7)}ref={n}",
        ]
        statuses |= {client.get(url, follow_redirects=False).status_code for url in hostile}
        for query in spellings([("period", "2024Q3"), ("district", "d3")]):
            assert client.get(f"/stops?{query}&" + "&" * (n % 5)).status_code == 200

    assert (len(app.answers), len(app.site)) == (kept, pages)
    assert statuses == {302, 400}


def test_the_caches_stay_within_their_bounds(
    app: Site, client: TestClient[Site], release: str
) -> None:
    app.answers.max_entries, app.answers.max_bytes = 12, 400_000
    app.site.max_entries, app.site.max_bytes = 10, 300_000
    releases = [r["id"] for r in client.get("/api/v1/releases").json()]
    tables = [t["name"] for t in client.get(f"/api/v1/releases/{release}/tables").json()]
    urls = [
        f"/releases/{r}/tables/{t}{suffix}"
        for r in releases[-3:]
        for t in tables
        for suffix in ("", ".csv", ".json")
    ]
    assert len(urls) > 50

    for url in urls:
        assert client.get(url).status_code == 200
        assert len(app.answers) <= 12 and app.answers.held_bytes <= 400_000
        assert len(app.site) <= 10 and app.site.held_bytes <= 300_000
    assert len(app.answers) >= 2 and len(app.site) >= 2  # bounded, not disabled


def test_an_overlong_address_is_a_414_before_the_app(client: TestClient[Site]) -> None:
    from portal.web.target import MAX_TARGET_BYTES

    long_query = "period=" + "9" * MAX_TARGET_BYTES
    page = client.get(f"/stops?{long_query}")
    api = client.get(f"/api/v1/releases?{long_query}")

    assert page.status_code == api.status_code == 414
    assert "at most 2,048" in page.text
    assert "at most 2,048" in api.json()["detail"]


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
VALUES = st.text(max_size=8)


@given(
    pairs=st.lists(st.tuples(NAMES, VALUES), max_size=4, unique_by=lambda p: p[0]),
    order=st.randoms(use_true_random=False),
)
def test_the_canonical_query_is_the_same_for_every_spelling_and_keeps_the_meaning(
    pairs: list[tuple[str, str]], order: object
) -> None:
    from portal.web.query import canonical_query

    shuffled = list(pairs)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    plain = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs).encode()
    other = ("&&" + "&".join(f"{quote(k)}={quote(v, safe='~')}" for k, v in shuffled)).encode()

    assert canonical_query(plain) == canonical_query(other)
    meaning = sorted(parse_qsl(plain.decode("latin-1"), keep_blank_values=True))
    assert sorted(parse_qsl(canonical_query(plain).decode(), keep_blank_values=True)) == meaning


@pytest.mark.filterwarnings("ignore:.*deprecated inferred style")  # Litestar's own warning
def test_a_handler_must_say_what_each_parameter_is() -> None:
    """A parameter left for Litestar to guess would be a query parameter the check refuses:
    the app is not built."""
    from litestar import Litestar, get
    from litestar.exceptions import ImproperlyConfiguredException

    from portal.web.query import QueryCheck

    @get("/guessed", sync_to_thread=False)
    def guessed(period: str | None = None) -> str:
        return period or ""

    check = QueryCheck()
    with pytest.raises(ImproperlyConfiguredException, match="'period' as FromQuery"):
        check.learn(Litestar([guessed]).routes)
