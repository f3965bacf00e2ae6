"""Quarterly PDF reports: the release's figures and the site's own charts, in print.

The report is HTML from Jinja templates turned into a tagged PDF (PDF/UA-1) by WeasyPrint.
Charts come from the same builders as the site (:mod:`publishing.figures`), rendered to
SVG in one batch (one browser for the whole report, see :mod:`publishing.svg`) and
embedded as images with their sentence as alternative text; every chart's numbers are also
in the appendix as a table.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import Engine

from publishing import figures, views
from publishing.analysis.focus import evaluation_as_of
from publishing.artifacts import report_filename, write_artifact
from publishing.catalog import Catalog
from publishing.charts import Chart, month_ticks, signed
from publishing.headlines import headlines, summary
from publishing.i18n import _, gettext, ngettext, number, speaking
from publishing.periods import day_words
from publishing.releases import PublishedTable
from publishing.statement import plain_words
from publishing.views import city_charts

TEMPLATES = Path(__file__).resolve().parent / "report_templates"
AUTHOR = "Police Transparency Portal"
REPORT_QUARTERS = 8  # trends in a report cover its quarter and the seven before
SvgRenderer = Callable[[Sequence[Any]], list[str]]


class ReportError(ValueError):
    """A report that cannot be built, with what to do about it."""


@dataclass(frozen=True)
class Section:
    """A part of the report with its charts."""

    slug: str
    title: str
    intro: str
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class Report:
    """A rendered report."""

    period: str
    release_id: str
    filename: str
    pdf: bytes
    charts: int
    language: str = "en"


def report_sections(catalog: Catalog, period: str) -> list[Section]:
    """The report's sections and their charts (those the release's tables allow)."""

    def kept(*charts: Chart | None) -> tuple[Chart, ...]:
        return tuple(c for c in charts if c is not None)

    focus = [
        figures.focus_crime_trend(catalog, area, f"focus-{area.code}-crime")
        for area in catalog.focus_areas.values()
    ]
    return [
        Section(
            "stops",
            _("Stops"),
            _("How many stops officers made, where, of whom, and how they ended."),
            city_charts(catalog, period, views.STOPS),
        ),
        Section(
            "force",
            _("Use of force"),
            _("Uses of force recorded by officers."),
            city_charts(catalog, period, views.FORCE),
        ),
        Section(
            "crime",
            _("Crime"),
            _("Crimes reported to the police."),
            city_charts(catalog, period, views.CRIME),
        ),
        Section(
            "focus-areas",
            _("Focus areas"),
            _(
                "Places where the department concentrated its work from a known date, next to "
                "comparison beats chosen to be alike."
            ),
            kept(*focus),
        ),
    ]


def post_processing_summary(tables: dict[str, PublishedTable]) -> dict[str, float]:
    """How far post-processing moved published values from the raw noisy ones."""
    moved = [
        abs(c.value - c.raw_noisy)
        for t in tables.values()
        for c in t.cells
        if c.raw_noisy is not None
    ]
    negative = sum(
        1 for t in tables.values() for c in t.cells if c.raw_noisy is not None and c.raw_noisy < 0
    )
    return {
        "cells": len(moved),
        "mean_change": math.fsum(moved) / max(1, len(moved)),
        "negatives": negative,
        "changed_share": 100 * sum(1 for m in moved if m) / max(1, len(moved)),
    }


def build_report(
    catalog: Catalog,
    period: str,
    *,
    render_svgs: SvgRenderer | None,
    built_at: datetime | None = None,
    language: str = "en",
) -> Report:
    """The quarterly report of ``period``'s current release in ``language`` (its words,
    charts, numbers and dates). ``render_svgs`` turns Plotly figures into SVG text; None
    leaves the charts out (their tables stay)."""
    with speaking(language):
        return _build_report(catalog, period, render_svgs, built_at, language)


def store_report(
    public: Engine,
    catalog: Catalog,
    period: str,
    *,
    render_svgs: SvgRenderer | None,
    language: str = "en",
) -> Report:
    """Build ``period``'s report in ``language`` and store it with its release in the
    public store (replacing an earlier one of that language)."""
    report = build_report(catalog, period, render_svgs=render_svgs, language=language)
    write_artifact(
        public,
        release_id=report.release_id,
        kind="report",
        filename=report.filename,
        media_type="application/pdf",
        content=report.pdf,
        created_at=catalog.current[period].created_at,
    )
    return report


def _build_report(
    catalog: Catalog,
    period: str,
    render_svgs: SvgRenderer | None,
    built_at: datetime | None,
    language: str,
) -> Report:
    release = catalog.current.get(period)
    # The evaluations are as of this quarter's release, from all it had released (as the
    # site's); its trends show this quarter and the seven before it, nothing later.
    evaluations = [
        e
        for e in (evaluation_as_of(catalog, a, period) for a in catalog.focus_areas.values())
        if e is not None
    ]
    catalog = catalog.up_to(period, REPORT_QUARTERS)
    if release is None:
        known = ", ".join(catalog.periods) or "none yet"
        raise ReportError(
            f"there is no release for {period}, so no report; released "
            f"periods: {known} (build one with `portal release build --period "
            f"{period}`)"
        )
    sections = report_sections(catalog, period)
    charts = [c for s in sections for c in s.charts]
    images: dict[str, str] = {}
    if render_svgs is not None and charts:
        svgs = render_svgs([_for_print(c.figure) for c in charts])
        images = {
            c.slug: "data:image/svg+xml;base64,"
            + base64.b64encode(svg.encode("utf-8")).decode("ascii")
            for c, svg in zip(charts, svgs, strict=True)
        }
    department = catalog.department
    statement = release.statement
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.filters["signed"] = signed
    environment.filters["number"] = number
    environment.filters["day_words"] = day_words
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    built = built_at or datetime.now(UTC).replace(tzinfo=None)
    html = environment.get_template("report.html").render(
        lang=language,
        page_css=_page_css(),
        department=department,
        period=period,
        release=release,
        statement=statement,
        promise=plain_words(statement, period),
        headlines=headlines(catalog, period),
        summary=summary(catalog, period),
        sections=sections,
        images=images,
        built=built,
        author=AUTHOR,
        evaluations=evaluations,
        changes=post_processing_summary(catalog.tables(release.id)),
    )
    pdf = _write_pdf(html)
    filename = report_filename(period, release.id, language)
    return Report(period, release.id, filename, pdf, len(images), language)


def _page_css() -> Markup:
    """The running header and the page numbers, in the report's language (report.css
    places them), and none on the cover: the document's own style sheet comes after
    report.css, so it says both."""
    words = (_("Quarterly report"), _("Page"), _("of"))
    title, page, of = (json.dumps(m, ensure_ascii=False) for m in words)
    return Markup(
        f'@page {{ @top-right {{ content: {title[:-1]}, " string(period); }}'
        f' @bottom-center {{ content: {page} " " counter(page) " " {of} " "'
        " counter(pages); } }"
        " @page :first { @top-right { content: none; } @bottom-center { content: none; } }"
    )


def _for_print(figure: Any) -> Any:
    """The chart as printed: lines without point markers (the appendix has every value, and
    each marker is one more shape for the PDF to draw), and no hover labels."""
    import plotly.graph_objects as go

    printed = go.Figure(figure)
    printed.update_traces(selector={"mode": "lines+markers"}, mode="lines")
    printed.update_layout(hovermode=False)
    month_ticks(printed)
    return printed


def _write_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML  # imported here: it is slow to import, and only needed here

    stylesheet = CSS(filename=str(TEMPLATES / "report.css"))
    document = HTML(string=html, base_url=str(TEMPLATES))
    pdf: bytes = document.write_pdf(
        stylesheets=[stylesheet], pdf_variant="pdf/ua-1", custom_metadata=True
    )
    return pdf
