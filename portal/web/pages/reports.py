"""Quarterly PDF reports: the list, and each report served under its stable file name."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing.artifacts import list_artifacts, read_artifact
from publishing.catalog import Catalog
from publishing.i18n import _

HTML = "text/html"


@get("/reports", sync_to_thread=False)
def reports(request: Request[Any, Any, Any], site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every quarterly report, newest first."""

    def render(catalog: Catalog) -> CachedBody:
        found = [a for a in list_artifacts(site.engine) if a.kind == "report"]
        return CachedBody.of(
            site.renderer.page(
                "reports.html",
                title=_("Quarterly reports"),
                active="/reports",
                reports=found,
                current={r.id for r in catalog.current.values()},
            ),
            HTML,
        )

    return site.cached("reports", render).respond(request)


@get("/reports/{filename:str}", sync_to_thread=False)
def report_file(
    filename: FromPath[str], request: Request[Any, Any, Any], site: NamedDependency[SiteState]
) -> Response[bytes]:
    """A report as a PDF, under its stable name (``report-2025Q3-1a2b3c4d5e6f.pdf``)."""

    def render(catalog: Catalog) -> CachedBody:
        found = read_artifact(site.engine, filename)
        if found is None:
            raise NotFoundException(
                _("there is no report {name!r}; see /reports").format(name=filename[:80])
            )
        info, content = found
        return CachedBody.of(
            content,
            info.media_type,
            immutable=True,
            headers=(("Content-Disposition", f'inline; filename="{info.filename}"'),),
        )

    return site.cached(f"report:{filename}", render).respond(request)
