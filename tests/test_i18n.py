"""English and Spanish: every message the site marks has a Spanish translation, a page in
Spanish says so (``lang="es"``) and keeps its language from link to link, numbers and dates
are written as Spanish writes them, and English needs no parameter at all."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app
from publishing.i18n import month_words, number, speaking
from publishing.i18n_catalogue import untranslated
from publishing.periods import day_words, quarter_words

SQLITE = pytest.mark.parametrize("published_city", ["sqlite"], indirect=True)
TRANSLATED = (
    "/",
    "/stops",
    "/crime",
    "/force",
    "/districts",
    "/districts/d3",
    "/focus-areas",
    "/focus-areas/fa1",
    "/releases",
    "/releases/{release}",
    "/releases/{release}/tables/stops_by_district",
    "/releases/{release}/data-dictionary",
    "/reports",
    "/methodology",
    "/nowhere",
    "/districts/zz",  # the errors a reader meets say what exists in the reader's language
    "/stops?period=1999Q1",
    "/stops?district=Nowhere",
    "/stops?period=2025Q3&period=2025Q4",
    "/releases/{release}/tables/nope",
)
# Words that give an English sentence away; none is Spanish.
ENGLISH = re.compile(r"\b(the|and|with|of|by|per|stops|interval|quarter|district)\b")


@pytest.fixture(scope="module")
def release(client: TestClient) -> str:  # type: ignore[type-arg]
    latest = client.get("/api/v1/releases/latest", follow_redirects=True)
    return str(latest.json()["release"]["id"])


@pytest.fixture(scope="module")
def client(published_city: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(published_city)) as test_client:
        yield test_client


def in_spanish(client: TestClient, address: str) -> str:  # type: ignore[type-arg]
    """The page at ``address`` (which may have a query already) in Spanish."""
    return str(client.get(address + ("&" if "?" in address else "?") + "lang=es").text)


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, tags or attribute values, and not the policy file
    (a file, as the department wrote it)."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r'<pre class="policy".*?</pre>', " ", page, flags=re.S)  # the policy file
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)  # names in code, not words
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def test_every_marked_message_has_a_spanish_translation() -> None:
    assert untranslated("es") == []


def test_a_missing_translation_is_found(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from publishing import i18n_catalogue

    extra = [("A sentence nobody translated", "portal/web/example.py:1")]
    real = list(i18n_catalogue.marked_messages())
    monkeypatch.setattr(i18n_catalogue, "marked_messages", lambda: iter(real + extra))

    assert untranslated("es") == extra


@SQLITE
@pytest.mark.parametrize("path", TRANSLATED)
def test_a_page_in_spanish_has_no_english_left(
    client: TestClient,  # type: ignore[type-arg]
    release: str,
    path: str,
) -> None:
    page = in_spanish(client, path.format(release=release))
    text = visible_text(page)

    assert page.startswith('<!doctype html>\n<html lang="es">')
    english = sorted({m.group(0) for m in ENGLISH.finditer(text)})
    assert english == [], [
        text[max(0, m.start() - 60) : m.end() + 60] for m in ENGLISH.finditer(text)
    ][:5]


@SQLITE
@pytest.mark.parametrize("path", TRANSLATED)
def test_links_keep_the_language(
    client: TestClient,  # type: ignore[type-arg]
    release: str,
    path: str,
) -> None:
    page = in_spanish(client, path.format(release=release))
    links = re.findall(r'<a href="(/[^"#]*)', page)
    # Pages link to each other in the reader's language; files and the API are English.
    own = [
        link
        for link in links
        if not link.startswith(("/static/", "/api/", "/reports/"))
        and "." not in link.split("?")[0].rsplit("/", 1)[-1]
    ]
    switch = re.search(r'<a href="([^"]+)" hreflang="en" lang="en">English</a>', page)

    assert own and all("lang=es" in link for link in own if link != (switch and switch[1]))
    assert switch is not None and "lang=" not in switch[1]
    if 'class="filters"' in page:
        assert 'name="lang" value="es"' in page  # the quarter picker keeps it too


@SQLITE
def test_the_methodology_says_the_same_in_both_languages(client: TestClient) -> None:  # type: ignore[type-arg]
    english = client.get("/methodology").text
    spanish = client.get("/methodology?lang=es").text

    def ids(page: str) -> list[str]:
        return re.findall(r'<(?:p|h2|h3|tr|table) id="([^"]+)"', page)

    assert ids(spanish) == ids(english) and len(ids(english)) > 30
    odds = re.search(r"como mucho por e\^([0-9,]+), unas ([0-9.]+) veces", spanish)
    assert odds is not None
    epsilon, factor = float(odds[1].replace(",", ".")), float(odds[2].replace(".", ""))
    assert factor == pytest.approx(math.exp(epsilon), rel=0.01, abs=1)


@SQLITE
def test_english_needs_no_parameter(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/stops?period=2025Q4").text

    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert "lang=es" in page and 'hreflang="es"' in page  # the switch, to this very view
    assert '<a href="/stops?period=2025Q4&amp;lang=es" hreflang="es" lang="es">Español</a>' in page
    assert not re.search(r'href="/[a-z-]*\?lang=en', page)


@SQLITE
def test_an_unknown_language_is_refused_with_the_ones_spoken(client: TestClient) -> None:  # type: ignore[type-arg]
    answer = client.get("/stops?lang=fr")

    assert answer.status_code == 400
    assert "en (English), es (Español)" in answer.text


def test_numbers_and_dates_as_spanish_writes_them() -> None:
    from datetime import date

    with speaking("es"):
        assert (number(12345.678, 1), number(-0.3, 1)) == ("12.345,7", "-0,3")
        # An undefined ratio (a displacement quotient over nothing) is a dash, not an error.
        assert number(float("nan"), 2) == number(float("inf")) == "—"
        assert quarter_words("2025Q4") == "octubre a diciembre de 2025"
        assert day_words(date(2025, 12, 31)) == "31 de diciembre de 2025"
        assert (month_words("2025-09"), month_words("2025-09", short=True)) == (
            "septiembre de 2025",
            "sept 2025",
        )
    assert (month_words("2025-09"), month_words("2025-09", short=True)) == (
        "September 2025",
        "Sep 2025",
    )
    assert (number(12345.678, 1), quarter_words("2025Q4")) == (
        "12,345.7",
        "October to December 2025",
    )


@pytest.mark.parametrize(
    ("stored", "spanish"),
    [
        (
            "this department does not publish uses of force",
            "este departamento no publica usos de la fuerza",
        ),
        (
            "none of outcome = arrest, summons can occur in this department's data",
            "ninguno de outcome = arrest, summons puede darse en los datos de este departamento",
        ),
        (
            "the department's crime reports do not cover 2025Q3",
            "los datos de denuncias de delitos del departamento no cubren 2025Q3",
        ),
        (
            "this department declares no beats: published as stops_by_month_beat_district",
            "este departamento no declara sectores: se publica como stops_by_month_beat_district",
        ),
        (
            "this department's stops do not name their district or beat",
            "los expedientes de paradas de este departamento no indican su distrito ni sector",
        ),
        ("a reason the engine has never written", "a reason the engine has never written"),
    ],
)
def test_a_releases_stored_reasons_read_in_the_readers_language(stored: str, spanish: str) -> None:
    from publishing.statement import reason_words

    assert reason_words(stored) == stored  # English reads as the release stored it
    with speaking("es"):
        assert reason_words(stored) == spanish
