"""The JSON API across releases: ``latest``, an alias that always leads to the newest
release, and a table's series, its cells in every quarter's current release.

A release's own URLs never change and are served as immutable; ``latest`` is a redirect to
one of them (never kept by a cache, since it moves with each release), and a series is
answered afresh for each catalog version like the pages.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect

from portal.web.api import (
    JSON,
    Cell,
    body_and_errors,
    cells_of,
    checked_filters,
    error_responses,
    get_cells,
    get_release,
    json_body,
    list_releases,
    list_tables,
)
from portal.web.cache import CachedBody
from portal.web.query import CHECKS_ITS_OWN_QUERY
from portal.web.state import SiteState
from publishing.area_list import listed
from publishing.catalog import Catalog, ReleaseInfo
from publishing.public_forms import AreaRecord, area_record
from publishing.releases import PublishedTable

AnyRequest = Request[Any, Any, Any]


class SeriesPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One quarter of a series: its current release and the table's matching cells."""

    period: str
    release_id: str
    partial: bool  # the department's data cover only part of the quarter
    cells: list[Cell]


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """A table across every quarter whose current release has it, oldest first."""

    table: str
    title: str
    dimensions: list[str]
    filters: dict[str, str]
    releases: list[SeriesPoint]


@get("/areas", sync_to_thread=False, responses=body_and_errors(list[AreaRecord], 400))
def list_areas(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every declared area (the city, its districts, their beats), current: what each area
    code in the tables names. Boundaries are at ``/areas.geojson``."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(json_body([area_record(area) for area in listed(catalog)]), JSON)

    return site.cached("api:areas", render).respond(request)


def _newest(catalog: Catalog) -> ReleaseInfo:
    if not catalog.periods:
        raise NotFoundException("nothing has been released yet")
    return catalog.current[catalog.periods[-1]]


def _to_newest(request: AnyRequest, site: SiteState, rest: str) -> Redirect:
    newest = _newest(site.catalog())
    query = request.url.query
    target = f"/api/v1/releases/{newest.id}{rest}" + (f"?{query}" if query else "")
    return Redirect(path=target, status_code=307, headers={"Cache-Control": "no-cache"})


@get(
    "/releases/latest",
    sync_to_thread=False,
    responses=error_responses(404),
    status_code=307,
)
def latest_release(request: AnyRequest, site: NamedDependency[SiteState]) -> Redirect:
    """A redirect to the newest quarter's current release."""
    return _to_newest(request, site, "")


@get(
    "/releases/latest/{rest:path}",
    sync_to_thread=False,
    responses=error_responses(404),
    opt={CHECKS_ITS_OWN_QUERY: True},
    status_code=307,
)
def latest_release_part(
    rest: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Redirect:
    """A redirect to the same address under the newest quarter's current release, the
    query kept: ``/api/v1/releases/latest/tables/stops_by_month?month=2025-07``."""
    return _to_newest(request, site, rest)


def _versions(catalog: Catalog, name: str) -> list[tuple[ReleaseInfo, PublishedTable]]:
    """The table in each quarter's current release that has it, oldest quarter first."""
    found = []
    for period in catalog.periods:
        release = catalog.current[period]
        table = catalog.tables(release.id).get(name)
        if table is not None:
            found.append((release, table))
    return found


@get(
    "/series/{name:str}",
    sync_to_thread=False,
    responses=body_and_errors(Series, 400, 404),
    opt={CHECKS_ITS_OWN_QUERY: True},
)
def get_series(
    name: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """A table's cells in every quarter's current release, oldest first. Its dimensions
    filter as they do for one release (``?district=d3``); a value no release has is a 400
    that lists the values there are."""
    catalog = site.catalog()
    versions = _versions(catalog, name)
    if not versions:
        names = sorted({t for r in catalog.current.values() for t in catalog.tables(r.id)})
        raise NotFoundException(
            f"no release has a table {name[:64]!r}; the tables are: {', '.join(names)}"
        )
    newest = versions[-1][1]

    def values_of(dimension: str) -> list[str]:
        seen = {v: None for _, t in versions for v in t.values_of(dimension)}
        return list(seen)

    filters = checked_filters(request, name, newest.dimensions, values_of)

    def render(catalog: Catalog) -> CachedBody:
        points = [
            SeriesPoint(
                period=release.period,
                release_id=release.id,
                partial=release.statement.partial,
                cells=cells_of(table, filters),
            )
            for release, table in versions
        ]
        series = Series(
            table=name,
            title=newest.title,
            dimensions=list(newest.dimensions),
            filters=filters,
            releases=points,
        )
        return CachedBody.of(json_body(series), JSON)

    key = f"api:series:{name}:{sorted(filters.items())}"
    return site.cached(key, render).respond(request)


api_router = Router(
    path="/api/v1",
    route_handlers=[
        list_releases,
        latest_release,
        latest_release_part,
        get_release,
        list_tables,
        get_cells,
        get_series,
        list_areas,
    ],
)
