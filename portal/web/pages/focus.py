"""Focus areas: the list, and a page per area with its beats and its released series
against its comparison beats."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing import figures
from publishing.analysis.focus import evaluation_as_of
from publishing.catalog import Catalog
from publishing.i18n import _

HTML = "text/html"


@get("/focus-areas", sync_to_thread=False)
def focus_areas(
    request: Request[Any, Any, Any],
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """The declared focus areas."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            site.renderer.page(
                "focus_areas.html",
                title=_("Focus areas"),
                active="/focus-areas",
                areas=list(catalog.focus_areas.values()),
            ),
            HTML,
        )

    return site.cached("focus-areas", render).respond(request)


@get("/focus-areas/{code:str}", sync_to_thread=False)
def focus_area(
    code: FromPath[str],
    request: Request[Any, Any, Any],
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """One focus area: its beats, and crime and stops in them against comparison beats."""
    catalog = site.catalog()
    area = catalog.focus_areas.get(code)
    if area is None:
        raise NotFoundException(
            _("there is no focus area {code!r}; see /focus-areas").format(code=code[:64])
        )

    def render(catalog: Catalog) -> CachedBody:
        crime = figures.focus_crime_trend(catalog, area)
        stops = figures.focus_stops_trend(catalog, area)
        roles = [
            (_(figures.FOCUS_ROLES[role]), [f"{catalog.area_name(b)} ({b})" for b in beats])
            for role, beats in sorted(area.beats.items())
        ]
        return CachedBody.of(
            site.renderer.page(
                "focus_area.html",
                title=area.name,
                active="/focus-areas",
                area=area,
                roles=roles,
                ev=evaluation_as_of(catalog, area),
                charts=[c for c in (crime, stops) if c is not None],
            ),
            HTML,
        )

    return site.cached(f"focus-area:{code}", render).respond(request)
