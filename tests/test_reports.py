"""Quarterly PDF reports, read back: the figures are the release's own, every chart is a
tagged figure with its words, the PDF declares PDF/UA and its language, and bad input gets a
clear refusal naming the fix.

One report of the small demo city is built (with real Chromium and WeasyPrint) and shared.
"""

from __future__ import annotations

import re
from html import unescape
from io import StringIO
from pathlib import Path
from typing import Any

import pypdf
import pytest
from litestar.testing import TestClient
from rich.console import Console

from portal.cli.report import run_report
from portal.settings import Settings
from portal.web.app import create_app
from publishing import svg
from publishing.analysis.focus import evaluation_as_of
from publishing.artifacts import list_artifacts, report_filename
from publishing.catalog import Catalog
from publishing.charts import signed
from publishing.db import make_engine
from publishing.definitions import headline_definitions
from publishing.headlines import headlines
from publishing.i18n import speaking
from publishing.reports import REPORT_QUARTERS, report_sections

pytestmark = [
    pytest.mark.parametrize("published_city", ["sqlite"], indirect=True),
    pytest.mark.skipif(
        not svg.CHROMIUM.is_file(),
        reason=f"no Chromium at {svg.CHROMIUM} (apt-get install chromium)",
    ),
]
PERIOD = "2025Q4"


@pytest.fixture(scope="module")
def report(published_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.pdf"
    console = Console(file=StringIO())
    assert run_report(published_city, PERIOD, out, console=console, languages=("en",)) == 0
    return out


@pytest.fixture(scope="module")
def spanish_report(published_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "informe.pdf"
    console = Console(file=StringIO())
    assert run_report(published_city, PERIOD, out, console=console, languages=("es",)) == 0
    return out


def words(reader: pypdf.PdfReader) -> str:
    """All the PDF's text, spaces and line breaks collapsed."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def figures_of(reader: pypdf.PdfReader) -> list[str]:
    """The alternative text of every Figure in the PDF's structure tree."""
    found: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.DictionaryObject):
            if node.get("/S") == "/Figure":
                found.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])
        elif isinstance(node, pypdf.generic.ArrayObject):
            for child in node:
                walk(child)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def test_the_headline_figures_are_exactly_the_releases(report: Path, catalog: Catalog) -> None:
    text = words(pypdf.PdfReader(report))

    for name in ("stops_in_quarter", "searches_in_quarter", "force_in_quarter"):
        table = catalog.table(PERIOD, name)
        assert table is not None
        (cell,) = table.cells
        assert f"{cell.value:,} ({cell.ci_low:,} to {cell.ci_high:,})" in text, name
    assert f"release {catalog.current[PERIOD].id}" in text.lower() or (
        catalog.current[PERIOD].id in text.replace(" ", "")
    )


def test_every_chart_is_a_tagged_figure_with_its_words(report: Path, catalog: Catalog) -> None:
    charts = [c for s in report_sections(catalog.up_to(PERIOD, 8), PERIOD) for c in s.charts]

    alternatives = figures_of(pypdf.PdfReader(report))

    assert len(charts) >= 10
    assert len(alternatives) == len(charts)
    for chart, alt in zip(charts, alternatives, strict=True):
        assert alt.startswith(f"{chart.title}. {chart.sentence}")


def test_the_pdf_is_pdf_ua_with_its_language_title_and_author(report: Path) -> None:
    reader = pypdf.PdfReader(report)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")

    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert re.search(r"pdfuaid:part(>|=\")1", xmp)
    assert reader.metadata is not None
    assert (
        reader.metadata.title == f"Quarterly transparency report, {PERIOD}: Riverton Police "
        "Department"
    )
    assert reader.metadata.author == "Police Transparency Portal"
    assert 12 <= len(reader.pages) <= 40
    text = words(reader)
    assert f"Page 1 of {len(reader.pages)}" not in text  # the cover has no running footer
    assert f"Page 2 of {len(reader.pages)}" in text
    for heading in (
        "Executive summary",
        "Methodology and privacy",
        "Appendix: data tables",
        "What post-processing changed",
    ):
        assert heading in text


def page_words(html: str) -> str:
    """A page's visible text, tags dropped and spaces collapsed (scripts and styles out)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_each_figure_has_one_name_and_one_number_on_the_site_and_in_the_report(
    report: Path, catalog: Catalog, published_city: Settings
) -> None:
    pdf = words(pypdf.PdfReader(report))
    with TestClient(create_app(published_city)) as client:
        home = page_words(client.get(f"/?period={PERIOD}").text)
        stops = page_words(client.get(f"/stops?period={PERIOD}").text)
        release = catalog.current[PERIOD]
        dictionary = page_words(client.get(f"/releases/{release.id}/data-dictionary").text)
        methodology = page_words(client.get("/methodology").text)
    shown = headlines(catalog, PERIOD)
    assert len(shown) >= 6

    for figure in shown:  # the same name beside the same number, on the site and the PDF
        quoted = f"{figure.label} {figure.value_text()}"
        assert quoted in home, quoted
        assert quoted in pdf, quoted
    names = {f.name: f.definition for f in headline_definitions(catalog, PERIOD)}
    for figure in shown:  # and defined, once, in the dictionary and on the methodology page
        defined = f"{figure.label} {names[figure.label][:1].upper()}{names[figure.label][1:]}."
        assert defined in dictionary and defined in methodology, defined
    # No other figure goes by a headline figure's name or a near one: "No action" on the
    # outcome chart once counted other stops than the headline's "no action".
    for surface in (home, stops, pdf):
        assert "no action" not in surface.lower().replace("no enforcement action", "")


def test_the_spanish_report_gives_the_spanish_sites_figures_in_spanish(
    spanish_report: Path, catalog: Catalog, published_city: Settings
) -> None:
    reader = pypdf.PdfReader(spanish_report)
    pdf = words(reader)
    with TestClient(create_app(published_city)) as client:
        home = page_words(client.get(f"/?period={PERIOD}&lang=es").text)
    with speaking("es"):
        quoted = [f"{h.label} {h.value_text()}" for h in headlines(catalog, PERIOD)]
        readings = [
            result.reading()
            for area in catalog.focus_areas.values()
            for result in getattr(evaluation_as_of(catalog, area, PERIOD), "results", ())
        ]

    assert reader.trailer["/Root"]["/Lang"] == "es"
    # The department's declared name is a name: it is not translated.
    assert reader.metadata is not None and reader.metadata.title == (
        f"Informe trimestral de transparencia, {PERIOD}: {catalog.department}"
    )
    for heading in ("Resumen", "Metodología y privacidad", "Apéndice: tablas de datos"):
        assert heading in pdf
    assert f"Página 2 de {len(reader.pages)}" in pdf and f"Informe trimestral, {PERIOD}" in pdf
    for figure in quoted:  # the same Spanish name beside the same Spanish number
        assert figure in home and figure in pdf, figure
    assert len(quoted) >= 6 and "(de " in quoted[0]
    assert readings and all(reading in pdf for reading in readings)
    assert "Stops" not in pdf and " the " not in pdf
    # The charts' time axes name their months in Spanish too.
    assert re.search(r"\b(ene|abr) 20\d\d\b", pdf) and not re.search(r"\b(Jan|Apr) 20\d\d\b", pdf)


def test_a_report_in_two_languages_needs_a_language_for_out(
    published_city: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_report(published_city, PERIOD, tmp_path / "r.pdf", console=Console(file=StringIO()))

    assert code == 2 and not (tmp_path / "r.pdf").exists()
    assert "add --language en or --language es" in capsys.readouterr().err


def test_the_site_and_the_report_give_the_same_focus_area_results(
    report: Path, catalog: Catalog, published_city: Settings
) -> None:
    pdf = words(pypdf.PdfReader(report))
    assert catalog.periods[-1] == PERIOD and len(catalog.periods) > REPORT_QUARTERS
    found = 0
    with TestClient(create_app(published_city)) as client:
        for area in catalog.focus_areas.values():
            evaluation = evaluation_as_of(catalog, area, PERIOD)
            if evaluation is None:
                continue
            page = page_words(client.get(f"/focus-areas/{area.code}").text)
            window = f"({evaluation.months_before[0]} to {evaluation.months_before[-1]})"
            assert window in page
            for result in evaluation.results:  # the same figure, interval and sentence
                shown = f"{result.label} {signed(result.percent)}%"
                assert shown in page and shown in pdf, shown
                assert result.reading() in page and result.reading() in pdf
                found += 1
    assert found >= 3


def test_the_report_is_stored_with_its_release_and_served(
    report: Path, catalog: Catalog, published_city: Settings
) -> None:
    release = catalog.current[PERIOD]
    filename = report_filename(PERIOD, release.id)
    engine = make_engine(published_city.public_db_url, read_only=True)
    try:
        stored = [a for a in list_artifacts(engine) if a.filename == filename]
    finally:
        engine.dispose()

    with TestClient(create_app(published_city)) as client:
        listing = client.get("/reports")
        served = client.get(f"/reports/{filename}")
        release_page = client.get(f"/releases/{release.id}")
        missing = client.get("/reports/report-1999Q1-000000000000.pdf")

    assert len(stored) == 1 and stored[0].release_id == release.id
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == f'inline; filename="{filename}"'
    assert served.content == report.read_bytes()
    assert filename in listing.text and f"/reports/{filename}" in release_page.text
    assert missing.status_code == 404


def test_a_period_without_a_release_is_refused(
    published_city: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_report(published_city, "1999Q1", None, console=Console(file=StringIO())) == 2
    assert "there is no release for 1999Q1" in capsys.readouterr().err


def test_an_unwritable_output_path_is_refused_before_any_work(
    published_city: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_report(
        published_city,
        PERIOD,
        tmp_path / "no" / "such" / "r.pdf",
        console=Console(file=StringIO()),
        languages=("en",),
    )

    assert code == 2
    assert "does not exist; create it or choose another --out" in capsys.readouterr().err


def test_a_missing_chromium_names_the_package(
    published_city: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = svg.render_svgs

    def without_browser(figures: Any, **options: Any) -> list[str]:
        return real(figures, browser=tmp_path / "chromium", **options)

    monkeypatch.setattr(svg, "render_svgs", without_browser)

    code = run_report(
        published_city,
        PERIOD,
        tmp_path / "r.pdf",
        console=Console(file=StringIO()),
        languages=("en",),
    )

    assert code == 2
    assert "apt-get install chromium" in capsys.readouterr().err
