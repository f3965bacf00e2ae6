"""The dashboards: home, stops and crime. Filters are query parameters, so every view has
a stable URL (``/stops?period=2025Q3&district=d3``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from portal.web.cache import CachedBody
from portal.web.params import chosen_district, chosen_period
from portal.web.state import SiteState
from publishing import views
from publishing.catalog import Catalog, ReleaseInfo
from publishing.charts import Chart
from publishing.headlines import headline_trends, headlines, summary, year_to_date
from publishing.i18n import _
from publishing.periods import quarter_end

HTML = "text/html"
AnyRequest = Request[Any, Any, Any]


@get("/", sync_to_thread=False)
def home(
    request: AnyRequest,
    site: NamedDependency[SiteState],
    period: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The latest quarter's headline figures with their change on a year earlier."""
    catalog = site.catalog()
    chosen = chosen_period(catalog, period) if (period or catalog.periods) else None

    def render(catalog: Catalog) -> CachedBody:
        if chosen is None:
            return CachedBody.of(
                site.renderer.page(
                    "home.html",
                    title=_("Home"),
                    active="/",
                    period=None,
                    department=catalog.department if catalog.areas else None,
                ),
                HTML,
            )
        latest = catalog.current[catalog.periods[-1]]
        trends = headline_trends(catalog, chosen)
        return CachedBody.of(
            site.renderer.page(
                "home.html",
                title=_("Home, {period}").format(period=chosen),
                active="/",
                period=chosen,
                periods=catalog.periods,
                department=catalog.department,
                data_through=data_through(latest),
                updated=max(r.created_at for r in catalog.releases).date(),
                headlines=headlines(catalog, chosen),
                year_to_date=year_to_date(catalog, chosen),
                trends=trends,
                charts=list(trends.values()),  # the page loads plotly.js for them
                summary=summary(catalog, chosen),
                release_id=catalog.current[chosen].id,
                statement=catalog.current[chosen].statement,
            ),
            HTML,
        )

    return site.cached(f"home:{chosen}", render).respond(request)


def data_through(release: ReleaseInfo) -> date:
    """The last day the newest release's data cover: its quarter's end, or for a partial
    quarter the last day any source's data reach."""
    statement = release.statement
    if statement.partial and statement.coverage:
        return max(date.fromisoformat(last) for _, _, last in statement.coverage)
    return quarter_end(release.period)


def _dashboard(
    request: AnyRequest,
    site: SiteState,
    *,
    path: str,
    heading: str,
    lede: str,
    period: str | None,
    district: str | None,
    build: tuple[views.ViewChart, ...],
) -> Response[bytes]:
    catalog = site.catalog()
    chosen = chosen_period(catalog, period)
    area = chosen_district(catalog, district)

    def render(catalog: Catalog) -> CachedBody:
        charts: list[Chart] = []
        notes: list[str] = []
        for shown in build:
            if shown.city_only and area is not None:
                continue  # a city-wide view: shown when no district is chosen
            chart = shown.build(catalog, chosen, area)
            if chart is None:
                notes.append(shown.missing_note())
            else:
                charts.append(chart)
        where = catalog.place(area)
        return CachedBody.of(
            site.renderer.page(
                "dashboard.html",
                title=f"{heading}, {where}, {chosen}",
                active=path,
                heading=heading,
                lede=lede,
                action=path,
                periods=catalog.periods,
                period=chosen,
                districts=catalog.areas_at("district"),
                district=area,
                with_district=True,
                charts=charts,
                notes=notes,
            ),
            HTML,
        )

    return site.cached(f"{path}:{chosen}:{area}", render).respond(request)


@get("/stops", sync_to_thread=False)
def stops(
    request: AnyRequest,
    site: NamedDependency[SiteState],
    period: FromQuery[str | None] = None,
    district: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Stops: trend, districts, race, outcomes, searches, reasons by race, sex, age and
    stops with no enforcement action."""
    return _dashboard(
        request,
        site,
        path="/stops",
        heading=_("Stops"),
        lede=_(
            "Stops officers made, how they ended, and who was searched: every number is a "
            "privacy-protected estimate with its 95% interval."
        ),
        period=period,
        district=district,
        build=views.STOPS,
    )


@get("/crime", sync_to_thread=False)
def crime(
    request: AnyRequest,
    site: NamedDependency[SiteState],
    period: FromQuery[str | None] = None,
    district: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Reported crime by offence and district."""
    return _dashboard(
        request,
        site,
        path="/crime",
        heading=_("Crime"),
        lede=_("Crimes reported to the police, by offence and district, month by month."),
        period=period,
        district=district,
        build=views.CRIME,
    )


@get("/force", sync_to_thread=False)
def force(
    request: AnyRequest,
    site: NamedDependency[SiteState],
    period: FromQuery[str | None] = None,
    district: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Use of force: the quarterly trend, by district, by the person's race and by type."""
    return _dashboard(
        request,
        site,
        path="/force",
        heading=_("Use of force"),
        lede=_(
            "Uses of force officers recorded, quarter by quarter, by district, by the person's "
            "race and by type: every number is a privacy-protected estimate with its 95% "
            "interval."
        ),
        period=period,
        district=district,
        build=views.FORCE,
    )
