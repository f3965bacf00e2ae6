"""Each district's own page: its trends (stops, crime, use of force), its stops by race, its
beats in the chosen quarter and the focus areas that reach into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from portal.web.cache import CachedBody
from portal.web.params import chosen_period
from portal.web.state import SiteState
from publishing import figures
from publishing.catalog import Catalog, FocusAreaInfo
from publishing.charts import interval_text
from publishing.headlines import crime_headline, released_total
from publishing.i18n import _

AnyRequest = Request[Any, Any, Any]
HTML = "text/html"


@dataclass(frozen=True)
class BeatRow:
    """A beat of the district in a quarter: its stops and headline crimes, in words."""

    code: str
    name: str
    stops: str
    crimes: str


def beat_rows(catalog: Catalog, period: str, district: str) -> list[BeatRow]:
    """The district's beats with their released quarter totals ("not released" where the
    release has no such table)."""
    counted = crime_headline(catalog, period)
    rows = []
    for beat in catalog.areas_at("beat"):
        if beat.parent != district:
            continue
        stops = released_total(catalog.table(period, "stops_by_month_beat"), beat=beat.code)
        crimes = released_total(
            catalog.table(period, "incidents_by_month_beat_offense"),
            beat=beat.code,
            offense_category=counted.codes,
        )
        rows.append(
            BeatRow(
                beat.code,
                beat.name,
                interval_text(stops) if stops else _("not released"),
                interval_text(crimes) if crimes else _("not released"),
            )
        )
    return rows


def focus_areas_in(catalog: Catalog, district: str) -> list[FocusAreaInfo]:
    """The focus areas with a member beat in the district."""
    beats = {b.code for b in catalog.areas_at("beat") if b.parent == district}
    return [
        area for area in catalog.focus_areas.values() if beats & set(area.beats.get("member", ()))
    ]


@get("/districts", sync_to_thread=False)
def districts(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every district, each with a link to its own page."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            site.renderer.page(
                "districts.html",
                title=_("Districts"),
                active="/districts",
                districts=catalog.areas_at("district"),
                beats=catalog.areas_at("beat"),
            ),
            HTML,
        )

    return site.cached("districts", render).respond(request)


@get("/districts/{code:str}", sync_to_thread=False)
def district_page(
    code: FromPath[str],
    request: AnyRequest,
    site: NamedDependency[SiteState],
    period: FromQuery[str | None] = None,
) -> Response[bytes]:
    """A district: its trends, its stops by race, its beats and its focus areas."""
    catalog = site.catalog()
    area = catalog.areas.get(code)
    if area is None or area.level != "district":
        known = ", ".join(f"{a.code} ({a.name})" for a in catalog.areas_at("district"))
        raise NotFoundException(
            _("there is no district {code!r}; districts: {known}").format(
                code=code[:64], known=known
            )
        )
    chosen = chosen_period(catalog, period)

    def render(catalog: Catalog) -> CachedBody:
        built = (
            figures.stops_trend(catalog, code),
            figures.stops_by_race(catalog, chosen, code),
            figures.no_action_share(catalog, code),
            figures.crime_trend(catalog, code),
            figures.force_trend(catalog, code),
        )
        return CachedBody.of(
            site.renderer.page(
                "district.html",
                title=f"{area.name}, {chosen}",
                active="/districts",
                area=area,
                action=f"/districts/{code}",
                periods=catalog.periods,
                period=chosen,
                charts=[c for c in built if c is not None],
                beats=beat_rows(catalog, chosen, code),
                focus_areas=focus_areas_in(catalog, code),
                crimes=crime_headline(catalog, chosen),
            ),
            HTML,
        )

    return site.cached(f"district:{code}:{chosen}", render).respond(request)
