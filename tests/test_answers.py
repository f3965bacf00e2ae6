"""Answers to cached pages and files are kept whole and replayed, and nothing else is.

The site renders a page once per catalog version (:mod:`portal.web.cache`); the answer
cache (:mod:`portal.web.answers`) then skips Litestar's per-request work for it. A replayed
answer must be the same answer: same status, headers (security headers included, once),
body and conditional-GET behaviour."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from litestar.testing import TestClient
from litestar.types import Message, Receive, Scope, Send

from portal.settings import Settings
from portal.web import state
from portal.web.answers import AnswerCache
from portal.web.app import create_app
from portal.web.cache import CachedBody
from portal.web.headers import SECURITY_HEADERS
from publishing.db import make_engine
from publishing.releases import write_release
from tests.test_releases_store import content as release_content

if TYPE_CHECKING:
    from portal.web.app import Site


@pytest.fixture
def app(published_city: Settings) -> Site:
    return create_app(published_city)


@pytest.fixture
def client(app: Site) -> Iterator[TestClient[Site]]:
    with TestClient(app) as test_client:
        yield test_client


def no_rendering(*_: object) -> None:
    raise AssertionError("a kept answer should have been replayed")


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "date"]


@pytest.mark.parametrize(
    "path", ["/stops", "/stops?district=d2", "/api/v1/releases", "/static/site.css"]
)
def test_a_repeated_request_is_replayed_whole_without_the_handler(
    app: Site, client: TestClient[Site], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    first = client.get(path, headers={"Accept-Encoding": "gzip"})
    monkeypatch.setattr(app.site, "cached", no_rendering)
    monkeypatch.setattr(CachedBody, "respond", no_rendering)  # static files too

    again = client.get(path, headers={"Accept-Encoding": "gzip"})

    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert without_date(again.headers.multi_items()) == without_date(first.headers.multi_items())
    for name, value in SECURITY_HEADERS.items():
        assert again.headers.get_list(name) == [value]  # added once, on the way out


def test_a_replayed_answer_honours_if_none_match(
    app: Site, client: TestClient[Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get("/stops")
    monkeypatch.setattr(app.site, "cached", no_rendering)

    same = client.get("/stops", headers={"If-None-Match": first.headers["etag"]})
    other = client.get("/stops", headers={"If-None-Match": '"something-else"'})

    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == first.headers["etag"]
    assert "content-type" not in same.headers and "content-encoding" not in same.headers
    assert same.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert other.status_code == 200 and other.content == first.content


def test_gzip_and_plain_answers_are_kept_apart(client: TestClient[Site]) -> None:
    for _ in range(2):
        packed = client.get("/stops", headers={"Accept-Encoding": "gzip"})
        plain = client.get("/stops", headers={"Accept-Encoding": "identity"})

        assert packed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert packed.text == plain.text  # the client decompresses


def test_errors_and_bad_input_are_never_kept(app: Site, client: TestClient[Site]) -> None:
    for path in ("/releases/nope", "/stops?period=x", "/no-such-page"):
        assert client.get(path).status_code in (400, 404)
        assert client.get(path).status_code in (400, 404)

    assert len(app.answers) == 0
    client.get("/stops")
    assert len(app.answers) == 1


class CountingApp:
    """An ASGI app that answers every request with an ETag and counts its calls."""

    def __init__(self, etag: bytes | None = b'"v1"', header_bytes: int = 0) -> None:
        self.calls, self.etag = 0, etag
        self.extra = [(b"x-padding", b"p" * header_bytes)] if header_bytes else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        headers = [(b"etag", self.etag)] if self.etag else []
        # A fresh bytes object per answer, as a server's parsed headers would be.
        headers += [(name, bytes(bytearray(value))) for name, value in self.extra]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * 100, "more_body": False})


def get(
    cache: AnswerCache, app: CountingApp, path: str, method: str = "GET", query: bytes = b""
) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
    asyncio.run(cache.answer(app, scope, receive, send))  # type: ignore[arg-type]
    return sent


def test_a_new_catalog_drops_every_kept_answer() -> None:
    generation = [object()]
    cache, app = AnswerCache(lambda: generation[0]), CountingApp()

    get(cache, app, "/a")
    get(cache, app, "/a")
    assert app.calls == 1
    generation[0] = object()  # a release was published
    get(cache, app, "/a")
    get(cache, app, "/a")
    assert app.calls == 2


def test_only_get_answers_with_an_etag_are_kept_least_recently_used_out_first() -> None:
    generation = object()
    cache = AnswerCache(lambda: generation, max_entries=16)
    plain, tagged = CountingApp(etag=None), CountingApp()

    get(cache, plain, "/plain")
    get(cache, plain, "/plain")
    get(cache, tagged, "/posted", method="POST")
    get(cache, tagged, "/posted", method="POST")
    assert (plain.calls, tagged.calls, len(cache)) == (2, 2, 0)
    for n in range(20):
        get(cache, tagged, f"/page/{n}")
    assert len(cache) == 16  # the least recently used went first
    get(cache, tagged, "/page/19")
    get(cache, tagged, "/page/0")
    assert tagged.calls == 2 + 20 + 1


def test_keys_and_headers_count_towards_the_byte_budget() -> None:
    """Answers with small bodies under long unique URLs: what the cache holds, as Python's
    allocator counts it, stays within its budget (bodies alone would let it hold 30,000)."""
    generation, budget = object(), 3_000_000
    cache = AnswerCache(lambda: generation, max_bytes=budget)
    app = CountingApp(header_bytes=1500)
    get(cache, app, "/warm-up")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(3000):
            get(cache, app, "/page", query=b"q=%d-" % n + b"x" * 1500)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert held <= 1.25 * budget, f"the cache holds {held:,} bytes for a budget of {budget:,}"
    assert app.calls == 3001 and 0 < len(cache) < 3000
    assert cache.held_bytes <= budget


def test_a_path_that_is_not_canonical_is_answered_but_never_kept() -> None:
    generation = object()
    cache, app = AnswerCache(lambda: generation), CountingApp()

    for path in ("/stops/", "//stops", "/stops//", "/a//b"):
        get(cache, app, path)
        get(cache, app, path)
    assert (app.calls, len(cache)) == (8, 0)
    get(cache, app, "/stops")
    get(cache, app, "/stops")
    assert (app.calls, len(cache)) == (9, 1)


def test_spellings_of_one_query_share_one_kept_answer() -> None:
    generation = object()
    cache, app = AnswerCache(lambda: generation), CountingApp()
    spellings = [
        b"period=2025Q3&district=d2",
        b"district=d2&period=2025Q3",
        b"&&district=d2&&period=2025Q3&",
        b"period=%32%30%32%35%51%33&district=d%32",
        b"%70eriod=2025Q3&district=d2",
    ]
    for query in spellings:
        get(cache, app, "/stops", query=query)

    assert (app.calls, len(cache)) == (1, 1)


def test_a_new_release_reaches_the_site_without_a_restart(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = make_engine(settings.public_db_url)
    write_release(public, release_content(), created_at=datetime(2025, 10, 2))
    monkeypatch.setattr(state, "CATALOG_CHECK_SECONDS", 0.1)
    with TestClient(create_app(settings)) as client:
        assert [r["period"] for r in client.get("/api/v1/releases").json()] == ["2025Q3"]
        client.get("/api/v1/releases")  # now a kept answer

        write_release(
            public,
            release_content(period="2025Q4", release_key="k2"),
            created_at=datetime(2026, 1, 2),
        )
        deadline = time.monotonic() + 20
        while len(client.get("/api/v1/releases").json()) < 2:
            assert time.monotonic() < deadline, "the site never saw the new release"
            time.sleep(0.05)

        periods = {r["period"] for r in client.get("/api/v1/releases").json()}
    public.dispose()
    assert periods == {"2025Q3", "2025Q4"}
