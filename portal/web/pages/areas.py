"""The declared areas, the list every area code in the tables refers to: as CSV and GeoJSON
beside the releases. They follow the public store (a renamed district shows at once), so
they are served with an ETag, never as immutable."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing.area_list import areas_csv, areas_geojson, listed
from publishing.catalog import Catalog

AnyRequest = Request[Any, Any, Any]


@get("/areas.csv", sync_to_thread=False)
def areas_as_csv(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every declared area: code, level, name, parent_code, population."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            areas_csv(listed(catalog)),
            "text/csv",
            headers=(("content-disposition", 'attachment; filename="areas.csv"'),),
        )

    return site.cached("areas-csv", render).respond(request)


@get("/areas.geojson", sync_to_thread=False)
def areas_as_geojson(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """The declared areas' boundaries as a GeoJSON FeatureCollection."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(areas_geojson(listed(catalog)), "application/geo+json")

    return site.cached("areas-geojson", render).respond(request)
