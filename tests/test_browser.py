"""The public site in a real browser: Debian's Chromium driven by Playwright.

One demo city and one ``portal serve`` process for the module, one browser for the module
and a fresh page (in a fresh context) per check. Checks: a resident's path through the site
(charts drawn, a CSV downloaded), no console errors and no request leaving 127.0.0.1 on
every page, axe-core finding no serious or critical WCAG 2.1 A/AA violation at 1366 px, and
no page wider than a 360 px phone: every page in English and in Spanish.

Chromium comes from Debian (``./run`` installs ``chromium``); nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.chromium import AXE_JS, AXE_TAGS, BLOCKING_IMPACTS, CHROMIUM, launched

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1366, "height": 768}

if not CHROMIUM.exists():  # ./run installs it; say so rather than fail on a bare machine
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install chromium (./run does)", allow_module_level=True
    )

from playwright.sync_api import (  # noqa: E402  (after the skip: only when Chromium is here)
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    expect,
)

# Every public page, by name; ``{release}`` is the newest release's id.
PAGES: dict[str, str] = {
    "home": "/",
    "stops": "/stops",
    "crime": "/crime",
    "force": "/force",
    "districts": "/districts",
    "district": "/districts/d3",
    "focus-areas": "/focus-areas",
    "focus-area": "/focus-areas/fa1",
    "releases": "/releases",
    "release": "/releases/{release}",
    "table": "/releases/{release}/tables/stops_by_month",
    "dictionary": "/releases/{release}/data-dictionary",
    "reports": "/reports",
    "stops-in-a-district": "/stops?district=d3",
    "methodology": "/methodology",
    "not-found": "/releases/nope",
}
# The same pages in Spanish: every check runs in both languages.
PAGES |= {
    f"{name}-es": path + ("&" if "?" in path else "?") + "lang=es" for name, path in PAGES.items()
}
NOT_FOUND = {"not-found", "not-found-es"}


@dataclass(frozen=True)
class Site:
    """A running ``portal serve`` over a demo city."""

    origin: str
    newest_release: str
    newest_period: str

    def url(self, name: str) -> str:
        return self.origin + PAGES[name].format(release=self.newest_release)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _portal(*args: str) -> list[str]:
    """The ``portal`` command of this environment (as ``portal serve`` itself re-execs)."""
    return [sys.executable, "-c", "from portal.cli import main; main()", *args]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body


def _wait_until_up(origin: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"portal serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            _get(origin + "/")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"portal serve did not answer GET / within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Build the demo city and its 12 releases, serve it on a free port, stop it after."""
    data_dir = tmp_path_factory.mktemp("browser-site")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PORTAL_INTERNAL_DB_URL", "PORTAL_PUBLIC_DB_URL")
    }
    env["PORTAL_DATA_DIR"] = str(data_dir)
    demo = subprocess.run(
        _portal("demo", "--stops", "4000", "--no-serve", "--no-reports"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, f"portal demo failed:\n{demo.stdout}\n{demo.stderr}"
    # One quarter's report (all twelve would take a while): the newest.
    report = subprocess.run(
        _portal("report", "build", "--period", "2025Q4"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.returncode == 0, f"portal report failed:\n{report.stdout}\n{report.stderr}"

    origin = f"http://127.0.0.1:{_free_port()}"
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            _portal("serve", "--host", "127.0.0.1", "--port", origin.rsplit(":", 1)[1]),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(origin, server, log)
        releases: list[dict[str, Any]] = json.loads(_get(origin + "/api/v1/releases"))
        assert releases, "the demo published no release"
        newest = max((r for r in releases if r["current"]), key=lambda r: str(r["period"]))
        yield Site(origin, str(newest["id"]), str(newest["period"]))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@dataclass
class Watched:
    """A fresh page, with what it logged and every URL it requested."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Watched]]:
    """Open fresh pages, each in its own context (downloads allowed), closed after."""
    contexts: list[BrowserContext] = []

    def open_page() -> Watched:
        context = browser.new_context(accept_downloads=True, viewport=DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        watched = Watched(context.new_page())

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                watched.errors.append(f"console error: {message.text} (at {where})")

        def on_page_error(error: Exception) -> None:
            watched.errors.append(f"uncaught exception: {error}")

        def on_request(request: Request) -> None:
            watched.requests.append(request.url)

        watched.page.on("console", on_console)
        watched.page.on("pageerror", on_page_error)
        watched.page.on("request", on_request)
        return watched

    yield open_page
    for context in contexts:
        context.close()


def _charts_drawn(page: Page) -> None:
    """Wait until plotly.js has drawn every chart of the page (an ``.main-svg`` in each)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plot')]"
        ".every(plot => plot.querySelector('.main-svg') !== null)",
        timeout=TIMEOUT_MS,
    )


def _open(watched: Watched, site: Site, name: str) -> None:
    response = watched.page.goto(site.url(name), wait_until="load")
    assert response is not None
    assert response.status == (404 if name in NOT_FOUND else 200), site.url(name)
    _charts_drawn(watched.page)


def test_a_resident_reads_the_stops_and_downloads_a_table(
    site: Site, new_page: Callable[[], Watched]
) -> None:
    page = new_page().page
    page.goto(site.origin + "/")
    main_nav = page.get_by_role("navigation", name="Main")

    main_nav.get_by_role("link", name="Stops", exact=True).click()
    expect(page).to_have_url(site.origin + "/stops")
    plots = page.locator(".plot")
    assert plots.count() > 0, "the Stops page has no chart"
    _charts_drawn(page)
    for index in range(plots.count()):
        expect(plots.nth(index).locator(".main-svg").first).to_be_attached()

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Releases", exact=True
    ).click()
    expect(page).to_have_url(site.origin + "/releases")
    # The table lists releases newest first: the first link is the newest quarter's.
    page.locator("main table tbody a[href^='/releases/']").first.click()
    expect(page).to_have_url(site.origin + f"/releases/{site.newest_release}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(site.newest_period)

    with page.expect_download() as download_info:
        page.locator("a[href$='/tables/stops_by_month.csv']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    first_line = Path(download.path()).read_text(encoding="utf-8").splitlines()[0]
    assert "value" in first_line.split(","), f"not a CSV header with 'value': {first_line!r}"


def _counted(name: str, site: Site, error: str) -> bool:
    """Whether a logged error counts. Not counted: the 404 page's own document status
    (expected), and the favicon's status, which Chromium fetches and logs only once per
    browser (so on whichever page comes first): ``_icon_problem`` checks it on every page."""
    expected_404 = (
        name in NOT_FOUND and "status of 404" in error and error.endswith(f"(at {site.url(name)})")
    )
    return not expected_404 and not error.endswith(f"(at {site.origin}/favicon.ico)")


def _icon_problem(page: Page) -> str | None:
    """The icon the browser asks for (``<link rel=icon>``, else /favicon.ico) must load."""
    icons = page.locator("link[rel~='icon']")
    href = icons.first.get_attribute("href") if icons.count() else "/favicon.ico"
    url = urljoin(page.url, href or "")
    status = page.request.get(url).status
    if status == 200:
        return None
    return (
        f"the page's icon {url} answers {status}; Chromium requests it and logs "
        f"'Failed to load resource: ... status of {status}' as a console error"
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_no_console_errors_and_no_third_party_requests(
    name: str, site: Site, new_page: Callable[[], Watched]
) -> None:
    watched = new_page()
    _open(watched, site, name)
    watched.page.wait_for_load_state("networkidle")
    assert site.url(name) in watched.requests, "the request listener saw nothing"

    errors = [error for error in watched.errors if _counted(name, site, error)]
    icon_problem = _icon_problem(watched.page)
    if icon_problem:
        errors.append(icon_problem)
    assert not errors, f"{site.url(name)} logged errors:\n" + "\n".join(errors)
    elsewhere = [url for url in watched.requests if not url.startswith(site.origin + "/")]
    assert not elsewhere, f"{site.url(name)} requested other origins:\n" + "\n".join(elsewhere)


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{violation['helpUrl']}]"
        )
        for node in violation["nodes"]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_accessibility_violation(
    name: str, site: Site, new_page: Callable[[], Watched]
) -> None:
    watched = new_page()
    _open(watched, site, name)
    # The site's CSP (script-src 'self') would block an injected <script> tag, so axe is
    # evaluated through the DevTools protocol (page.evaluate), which CSP does not govern; the
    # page keeps its real CSP, so axe sees the page exactly as residents get it.
    watched.page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    results: dict[str, Any] = watched.page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    assert results["passes"], "axe-core checked nothing"
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, (
        f"axe-core found serious or critical violations on {site.url(name)}:\n{_describe(blocking)}"
    )


PHONE = {"width": 360, "height": 740}  # the axe and console checks run at DESKTOP


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_is_wider_than_a_phone(name: str, site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(site.url(name), wait_until="load")
        _charts_drawn(page)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        wide = page.evaluate(
            """() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > 361)
                .filter(e => !e.closest('.table-wrap, pre, .plot'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
        )
    finally:
        context.close()
    assert width <= PHONE["width"], f"{site.url(name)} is {width} px wide: {wide}"


def test_data_tables_wait_under_their_charts(site: Site, new_page: Callable[[], Watched]) -> None:
    page = new_page().page
    page.goto(site.url("stops"), wait_until="load")
    _charts_drawn(page)
    tables = page.locator("figure.chart details.data")
    assert tables.count() == page.locator("figure.chart").count() > 2
    closed = page.evaluate("() => document.documentElement.scrollHeight")
    assert not page.locator("figure.chart table").first.is_visible()  # in the page, closed

    page.locator("figure.chart details.data summary").first.click()
    expect(page.locator("figure.chart table").first).to_be_visible()
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    opened = page.evaluate("() => document.documentElement.scrollHeight")
    assert closed < 0.7 * opened, (closed, opened)
    contents = page.get_by_role("navigation", name="On this page").get_by_role("link")
    assert contents.count() == tables.count()


def test_time_axes_name_the_months_in_the_pages_language(
    site: Site, new_page: Callable[[], Watched]
) -> None:
    """plotly.js writes the months of a trend's time axis in the page's language (its
    Spanish locale is loaded on Spanish pages): a Spanish page shows no English month."""
    english_only, spanish_only = {"Jan", "Apr", "Aug", "Dec"}, {"Ene", "Abr", "Ago", "Dic"}
    seen = {}
    for lang in ("en", "es"):
        page = new_page().page
        page.goto(f"{site.origin}/stops?lang={lang}", wait_until="load")
        _charts_drawn(page)
        ticks = page.locator("#stops-trend-plot .xtick text").all_text_contents()
        seen[lang] = {word for tick in ticks for word in tick.split()}
    assert seen["en"] & english_only and not seen["en"] & spanish_only, seen["en"]
    assert seen["es"] & spanish_only and not seen["es"] & english_only, seen["es"]
