"""The charts of each view, in order: one list per view, drawn by the site's dashboards and
by the quarterly report alike, so both show the same figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from publishing import breakdowns, figures
from publishing.catalog import Catalog
from publishing.charts import Chart
from publishing.i18n import N_, _

Builder = Callable[[Catalog, str, str | None], Chart | None]


@dataclass(frozen=True)
class ViewChart:
    """One chart of a view: what it shows (for "... is not in the released tables"), how
    it is built for a quarter and a district (None: city-wide), and whether it exists only
    city-wide."""

    what: str
    build: Builder
    city_only: bool = False
    missing: str = N_("{what} is not in the released tables for this selection.")

    def missing_note(self) -> str:
        """The sentence shown where the chart cannot be drawn, in the reader's language."""
        return _(self.missing).format(what=_(self.what))


STOPS = (
    ViewChart(N_("The monthly trend of stops"), lambda c, p, d: figures.stops_trend(c, d)),
    ViewChart(N_("The district map"), lambda c, p, d: figures.district_map(c, p), True),
    ViewChart(N_("Stops per 1,000 residents"), lambda c, p, d: figures.district_rates(c, p), True),
    ViewChart(
        N_("Stops and searches per 1,000 residents by race"),
        lambda c, p, d: breakdowns.rates_by_race(c, p),
        True,
        N_("{what} need the areas' residents by race, which the department has not declared."),
    ),
    ViewChart(N_("Stops by race"), figures.stops_by_race),
    ViewChart(N_("Stops by outcome"), figures.stops_by_outcome),
    ViewChart(N_("Search and hit rates"), figures.search_rates),
    ViewChart(
        N_("Reasons for stops by race"),
        lambda c, p, d: breakdowns.stop_reasons_by_race(c, p),
        True,
    ),
    ViewChart(N_("Stops by sex"), lambda c, p, d: breakdowns.stops_by_sex(c, p), True),
    ViewChart(N_("Stops by age"), lambda c, p, d: breakdowns.stops_by_age(c, p), True),
    ViewChart(
        N_("The share of stops with no enforcement action"),
        lambda c, p, d: figures.no_action_share(c, d),
    ),
)
FORCE = (
    ViewChart(
        N_("The quarterly trend of uses of force"), lambda c, p, d: figures.force_trend(c, d)
    ),
    ViewChart(
        N_("Uses of force by district"), lambda c, p, d: figures.force_by_district(c, p), True
    ),
    ViewChart(N_("Uses of force by race"), figures.force_by_race),
    ViewChart(N_("Uses of force by type"), lambda c, p, d: breakdowns.force_by_type(c, p), True),
)
CRIME = (
    ViewChart(N_("Crime by offence"), lambda c, p, d: figures.crime_trend(c, d)),
    ViewChart(
        N_("Crime by district this quarter"),
        lambda c, p, d: figures.crime_districts_quarter(c, p),
        True,
    ),
    ViewChart(N_("Crime by district"), lambda c, p, d: figures.crime_by_district(c), True),
    ViewChart(N_("Crime concentration"), lambda c, p, d: figures.crime_concentration(c, p), True),
)


def city_charts(catalog: Catalog, period: str, view: tuple[ViewChart, ...]) -> tuple[Chart, ...]:
    """A view's city-wide charts for a quarter, those its release's tables allow."""
    built = (chart.build(catalog, period, None) for chart in view)
    return tuple(chart for chart in built if chart is not None)
