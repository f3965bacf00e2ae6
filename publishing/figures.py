"""The dashboards' charts, from released tables only (the site and the PDF
reports both use these, so a number reads the same everywhere).

Table names are those of the shipped quarterly policy; a chart whose tables a release does
not have is left out (``None``), never invented.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from publishing.catalog import Catalog, FocusAreaInfo
from publishing.charts import (
    PALETTE,
    Chart,
    area_map,
    bar_chart,
    fmt,
    interval_text,
    lorenz_chart,
    trend_chart,
)
from publishing.definitions import NO_ENFORCEMENT, NO_ENFORCEMENT_SHARE, no_enforcement_words
from publishing.estimates import Z95, Estimate, ratio, scaled, total
from publishing.headlines import crime_headline, released_total
from publishing.i18n import N_, _, long_date, month_words, ngettext
from publishing.labels import label
from publishing.releases import PublishedTable


def monthly(
    catalog: Catalog, name: str, *, month: str = "month", **where: str | Iterable[str]
) -> list[tuple[str, Estimate]]:
    """A table's monthly totals across every released quarter (none where every cell is a
    structural zero: a code the department does not record is not a count of 0)."""
    points = []
    for period in catalog.periods:
        table = catalog.table(period, name)
        if table is None:
            continue
        for value in table.values_of(month):
            cells = table.where(**{month: value}, **where)
            if cells and not all(cell.structural for cell in cells):
                points.append((value, total(cells)))
    return points


def quarterly(
    catalog: Catalog, name: str, **where: str | Iterable[str]
) -> list[tuple[str, Estimate]]:
    """A table's quarter totals across every released quarter."""
    points = []
    for period in catalog.periods:
        found = released_total(catalog.table(period, name), **where)
        if found is not None:
            points.append((period, found))
    return points


def stops_trend(catalog: Catalog, district: str | None) -> Chart | None:
    """Stops per month, city-wide or in a district (the district its beats lie in)."""
    if district is None:
        points = monthly(catalog, "stops_by_month")
    else:
        points = monthly(catalog, "stops_by_month_beat_district", district=district)
    if not points:
        return None
    where = catalog.place(district)
    first, last = points[0], points[-1]
    return trend_chart(
        "stops-trend",
        _("Stops per month, {where}").format(where=where),
        _(
            "Stops per month in {where} from {first} to {last}: {first_value} in the first "
            "month and {last_value} in the last. The shaded band is the 95% interval."
        ).format(
            where=where,
            first=month_words(first[0]),
            last=month_words(last[0]),
            first_value=fmt(first[1].value),
            last_value=fmt(last[1].value),
        ),
        _("stops"),
        [(_("Stops"), points)],
    )


def district_map(catalog: Catalog, period: str) -> Chart | None:
    """Stops by district in a quarter, as a map of the districts' boundaries."""
    table = catalog.table(period, "stops_by_district")
    districts = [a for a in catalog.areas_at("district") if a.boundary]
    if table is None or not districts:
        return None
    shown = [(a.name, a.boundary or {}, total(table.where(district=a.code))) for a in districts]
    busiest = max(shown, key=lambda s: s[2].value)
    return area_map(
        "district-map",
        _("Stops by district, {period}").format(period=period),
        _(
            "A map of the {count} districts shaded by stops in {period}; {busiest} had the "
            "most, {interval}."
        ).format(
            count=len(shown), period=period, busiest=busiest[0], interval=interval_text(busiest[2])
        ),
        _("stops"),
        shown,
    )


def district_rates(catalog: Catalog, period: str) -> Chart | None:
    """Stops per 1,000 residents by district, where populations are known."""
    table = catalog.table(period, "stops_by_district")
    districts = [a for a in catalog.areas_at("district") if a.population]
    if table is None or not districts:
        return None
    bars = [
        (a.name, scaled(total(table.where(district=a.code)), 1000 / (a.population or 1)))
        for a in districts
    ]
    return bar_chart(
        "district-rates",
        _("Stops per 1,000 residents by district, {period}").format(period=period),
        _(
            "Stops per 1,000 residents in each district in {period} (residents from the "
            "declared areas' populations), with 95% intervals."
        ).format(period=period),
        _("stops per 1,000 residents"),
        [(_("Stops per 1,000 residents"), bars)],
        digits=1,
        category_title=_("district"),
    )


# The city-wide tables that measure a district table's categories directly: a city figure
# summed over many districts would add up the noise of every one.
CITY_TABLES = {
    "stops_by_district_race": "stops_by_race",
    "stops_by_district_outcome": "stops_by_outcome",
    "searches_by_district_race": "searches_by_race",
    "search_hits_by_district_race": "search_hits_by_race",
}


def _by_category(
    catalog: Catalog, period: str, name: str, dimension: str, district: str | None
) -> list[tuple[str, Estimate]]:
    """A table's totals per code of ``dimension``, in a district or city-wide (from the
    city-wide table where the release measured one). Codes the department does not record
    (structural zeros) are left out."""
    city = (
        catalog.table(period, CITY_TABLES[name])
        if district is None and name in CITY_TABLES
        else None
    )
    table = city or catalog.table(period, name)
    if table is None:
        return []
    return [
        (label(code), estimate) for code, estimate in category_totals(table, dimension, district)
    ]


def category_totals(
    table: PublishedTable, dimension: str, district: str | None = None
) -> list[tuple[str, Estimate]]:
    """A table's total per code of ``dimension`` (in ``district``, or over all its cells),
    leaving out codes the department does not record (structural zeros)."""
    where = {} if district is None else {"district": district}
    totals = []
    for code in table.values_of(dimension):
        cells = table.where(**{dimension: code}, **where)
        if cells and not all(c.structural for c in cells):
            totals.append((code, total(cells)))
    return totals


def rates(
    numerators: list[tuple[str, Estimate]], denominators: list[tuple[str, Estimate]]
) -> list[tuple[str, Estimate]]:
    """Per category: numerator per 100 of the denominator, where the denominator is clearly
    above zero (a rate of nothing means nothing)."""
    under = dict(denominators)
    series = []
    for x, estimate in numerators:
        share = ratio(estimate, under[x]) if x in under else None
        if share is not None:
            series.append((x, scaled(share, 100)))
    return series


def stops_by_race(catalog: Catalog, period: str, district: str | None) -> Chart | None:
    """Stops by the person's race in a quarter."""
    bars = _by_category(catalog, period, "stops_by_district_race", "subject_race", district)
    if not bars:
        return None
    where = catalog.place(district)
    noun = _(catalog.vocabulary("subject_race", period).noun)
    return bar_chart(
        "stops-race",
        _("Stops by {noun}, {where}, {period}").format(noun=noun, where=where, period=period),
        _(
            "Stops in {where} in {period} by the {noun} officers recorded for the person stopped."
        ).format(where=where, period=period, noun=noun)
        + " "
        + (
            _("Rates per 1,000 residents of each {noun} are shown city-wide.")
            if any(a.population_by_race for a in catalog.areas.values())
            else _(
                "Population by {noun} is not in the reference data, so rates per resident are "
                "shown by district only."
            )
        ).format(noun=noun),
        _("stops"),
        [(_("Stops"), bars)],
        category_title=noun,
    )


def stops_by_outcome(catalog: Catalog, period: str, district: str | None) -> Chart | None:
    """Stops by their most serious outcome in a quarter."""
    bars = _by_category(catalog, period, "stops_by_district_outcome", "outcome", district)
    if not bars:
        return None
    where = catalog.place(district)
    return bar_chart(
        "stops-outcome",
        _("Stops by outcome, {where}, {period}").format(where=where, period=period),
        _("How stops in {where} ended in {period}: the most serious outcome of each stop.").format(
            where=where, period=period
        ),
        _("stops"),
        [(_("Stops"), bars)],
        category_title=_("outcome"),
    )


def search_rates(catalog: Catalog, period: str, district: str | None) -> Chart | None:
    """Search rates (searches per 100 stops) and hit rates (contraband found per 100
    searches) by race."""
    stops = _by_category(catalog, period, "stops_by_district_race", "subject_race", district)
    searches = _by_category(catalog, period, "searches_by_district_race", "subject_race", district)
    hits = _by_category(catalog, period, "search_hits_by_district_race", "subject_race", district)
    if not (stops and searches):
        return None

    where = catalog.place(district)
    noun = _(catalog.vocabulary("subject_race", period).noun)
    words = {"noun": noun, "where": where, "period": period}
    series = [(_("Search rate (per 100 stops)"), rates(searches, stops))]
    if hits:
        series.append((_("Hit rate (per 100 searches)"), rates(hits, searches)))
        title = _("Search and hit rates by {noun}, {where}, {period}").format(**words)
        summary = _(
            "Per {noun} in {where} in {period}: searches per 100 stops, and searches that "
            "found contraband per 100 searches."
        ).format(**words)
    else:  # the department records searches but not what they found
        title = _("Search rates by {noun}, {where}, {period}").format(**words)
        summary = _(
            "Per {noun} in {where} in {period}: searches per 100 stops. The department's "
            "records do not say whether a search found anything, so no hit rate is shown."
        ).format(**words)
    return bar_chart(
        "search-rates",
        title,
        summary + " " + _("Groups too small to give a meaningful rate are left out."),
        _("per 100"),
        series,
        digits=1,
        category_title=noun,
    )


def no_action_share(catalog: Catalog, district: str | None) -> Chart | None:
    """The share of stops with no enforcement action, monthly city-wide or quarterly in a
    district."""
    if district is None:
        series = rates(
            monthly(catalog, "no_action_stops_by_month"), monthly(catalog, "stops_by_month")
        )
    else:  # both by the district the beat lies in
        series = rates(
            monthly(catalog, "no_action_stops_by_month_district", district=district),
            monthly(catalog, "stops_by_month_beat_district", district=district),
        )
    if not series:
        return None
    where = catalog.place(district)
    ended = no_enforcement_words(catalog.vocabulary("outcome"))
    return trend_chart(
        "no-action-share",
        _("{figure}, {where}").format(figure=_(NO_ENFORCEMENT_SHARE), where=where),
        _(
            "The percentage of stops in {where} that ended with {ended} and found no "
            "contraband, month by month, with its 95% interval."
        ).format(where=where, ended=_(ended)),
        _("% of stops"),
        [(_(NO_ENFORCEMENT), series)],
        digits=1,
        suffix="%",
    )


def force_by_district(catalog: Catalog, period: str) -> Chart | None:
    """Uses of force by district in a quarter."""
    table = catalog.table(period, "force_by_district")
    if table is None:
        return None
    bars = [
        (catalog.area_name(code), total(table.where(district=code)))
        for code in table.values_of("district")
    ]
    return bar_chart(
        "force-district",
        _("Uses of force by district, {period}").format(period=period),
        _("Uses of force recorded in each district in {period}, with 95% intervals.").format(
            period=period
        ),
        _("uses of force"),
        [(_("Uses of force"), bars)],
        category_title=_("district"),
    )


def force_by_race(catalog: Catalog, period: str, district: str | None = None) -> Chart | None:
    """Uses of force by the person's race in a quarter, city-wide or in a district."""
    bars = _by_category(catalog, period, "force_by_district_race", "subject_race", district)
    if not bars:
        return None
    noun = _(catalog.vocabulary("subject_race", period).noun)
    where = catalog.place(district)
    return bar_chart(
        "force-race",
        _("Uses of force by {noun}, {where}, {period}").format(
            noun=noun, where=where, period=period
        ),
        _(
            "Uses of force in {where} in {period} by the {noun} recorded for the person, "
            "with 95% intervals."
        ).format(noun=noun, where=where, period=period),
        _("uses of force"),
        [(_("Uses of force"), bars)],
        category_title=noun,
    )


def force_trend(catalog: Catalog, district: str | None = None) -> Chart | None:
    """Uses of force per quarter, city-wide or in a district."""
    points = (
        quarterly(catalog, "force_in_quarter")
        if district is None
        else quarterly(catalog, "force_by_district", district=district)
    )
    if not points:
        return None
    where = catalog.place(district)
    return trend_chart(
        "force-trend",
        _("Uses of force per quarter, {where}").format(where=where),
        _("Uses of force recorded each quarter in {where}, with 95% bands.").format(where=where),
        _("uses of force"),
        [(_("Uses of force"), points)],
    )


OTHER_OFFENCES = N_("All other offences")


def crime_trend(catalog: Catalog, district: str | None) -> Chart | None:
    """Reported crimes per month by offence."""
    table_name = (
        "incidents_by_month_offense"
        if district is None
        else ("incidents_by_month_district_offense")
    )
    where: dict[str, str] = {} if district is None else {"district": district}
    offences = catalog.vocabulary("offense_category").known
    found = [
        (code, monthly(catalog, table_name, offense_category=code, **where)) for code in offences
    ]
    found = [(code, points) for code, points in found if points]
    if not found:
        return None
    place = catalog.place(district)
    sentence = _(
        "Reported crimes per month in {place} for each offence category, with 95% bands."
    ).format(place=place)
    series = [(label(code), points) for code, points in found]
    if len(found) > len(PALETTE):
        # One colour per line: the most reported categories (by their released counts)
        # keep a line each, the rest are added together.
        ranked = sorted(found, key=lambda item: -sum(e.value for _, e in item[1]))
        kept = {code for code, _ in ranked[: len(PALETTE) - 1]}
        rest = [code for code, _ in found if code not in kept]
        series = [(label(code), points) for code, points in found if code in kept]
        series.append(
            (_(OTHER_OFFENCES), monthly(catalog, table_name, offense_category=rest, **where))
        )
        sentence = _(
            "Reported crimes per month in {place}, with 95% bands: the {kept} most reported "
            "offence categories each have a line, and the other {rest} ({names}) are added "
            "together."
        ).format(
            place=place,
            kept=len(kept),
            rest=len(rest),
            names=", ".join(label(code) for code in rest),
        )
    return trend_chart(
        "crime-trend",
        _("Reported crimes per month by offence, {place}").format(place=place),
        sentence,
        _("crimes"),
        series,
    )


def crime_districts_quarter(catalog: Catalog, period: str) -> Chart | None:
    """The headline crimes (Part I, Group A, ...) by district in a quarter (the district
    its beats lie in)."""
    table = catalog.table(period, "incidents_by_month_district_offense")
    if table is None:
        return None
    counted = crime_headline(catalog, period)
    bars = [
        (catalog.area_name(code), total(table.where(district=code, offense_category=counted.codes)))
        for code in table.values_of("district")
    ]
    return bar_chart(
        "crime-district-quarter",
        _("{crimes} by district, {period}").format(crimes=_(counted.label), period=period),
        _("{crimes} reported in each district in {period}, with 95% intervals.").format(
            crimes=_(counted.label), period=period
        )
        + (f" ({_(counted.note)[0].upper()}{_(counted.note)[1:]}.)" if counted.note else ""),
        _("crimes"),
        [(_(counted.label), bars)],
        category_title=_("district"),
    )


def crime_concentration(catalog: Catalog, period: str) -> Chart | None:
    """How concentrated crime is across beats in a quarter: a Lorenz curve and the share
    of incidents in the busiest 1%, 5% and 10% of beats."""
    from publishing.analysis.concentration import concentration

    found = concentration(catalog, period)
    if found is None:
        return None
    shares = [
        (
            ngettext(
                "top {percent}% ({beats} beat)", "top {percent}% ({beats} beats)", t.beats
            ).format(percent=t.percent, beats=t.beats),
            Estimate(100 * t.share, 100 * t.low, 100 * t.high, 100 * (t.high - t.low) / (2 * Z95)),
        )
        for t in found.top
    ]
    five = found.top[1]
    return lorenz_chart(
        "crime-concentration",
        _("How concentrated crime is across beats, {period}").format(period=period),
        _(
            "In {period} the busiest {percent}% of the {beats} beats ({busiest} beats) had "
            "{share}% of reported incidents (95% interval {low}% to {high}%). The further the "
            "curve sags below the line of equal shares, the more concentrated crime is."
        ).format(
            period=period,
            percent=five.percent,
            beats=found.beats,
            busiest=five.beats,
            share=fmt(100 * five.share),
            low=fmt(100 * five.low),
            high=fmt(100 * five.high),
        ),
        found.lorenz,
        shares,
    )


def crime_by_district(catalog: Catalog) -> Chart | None:
    """The headline crimes per month in each district (the district its beats lie in)."""
    counted = crime_headline(catalog)
    series = [
        (
            a.name,
            monthly(
                catalog,
                "incidents_by_month_district_offense",
                district=a.code,
                offense_category=counted.codes,
            ),
        )
        for a in catalog.areas_at("district")
    ]
    series = [(name, points) for name, points in series if points]
    if not series:
        return None
    return trend_chart(
        "crime-districts",
        _("{crimes} per month by district").format(crimes=_(counted.label)),
        _("{crimes} reported per month in each district, with 95% bands.").format(
            crimes=_(counted.label)
        ),
        _("crimes"),
        series,
    )


def beats_trend(
    catalog: Catalog,
    slug: str,
    title: str,
    sentence: str,
    name: str,
    groups: list[tuple[str, tuple[str, ...]]],
    y_title: str,
    start: date | None = None,
) -> Chart | None:
    """Monthly totals over sets of beats (a focus area and its comparison beats), with a
    line at ``start`` (the day focused work began)."""
    series = [(group, monthly(catalog, name, beat=beats)) for group, beats in groups if beats]
    series = [(g, points) for g, points in series if points]
    if not series:
        return None
    marked = (
        None
        if start is None
        else (start.isoformat(), _("began {day}").format(day=long_date(start)))
    )
    return trend_chart(slug, title, sentence, y_title, series, start=marked)


# A focus area's beats by role, as its page and its charts name them.
FOCUS_ROLES = {
    "member": N_("Focus area beats"),
    "comparison": N_("Comparison beats"),
    "buffer": N_("Buffer beats (next door)"),
}


def focus_crime_trend(
    catalog: Catalog, area: FocusAreaInfo, slug: str = "focus-crime"
) -> Chart | None:
    """A focus area's crimes per month, in its beats and its comparison beats, with a line
    where its focused work began: the same chart on its page and in the report."""
    words = _focus_words(area)
    return beats_trend(
        catalog,
        slug,
        _("Reported crimes per month, {area}").format(**words),
        _(
            "Crimes reported per month in the {beats} beats of {area} and in its comparison "
            "beats; focused work began on {start}."
        ).format(**words),
        "incidents_by_month_beat_offense",
        _focus_groups(area),
        _("crimes"),
        area.start,
    )


def focus_stops_trend(
    catalog: Catalog, area: FocusAreaInfo, slug: str = "focus-stops"
) -> Chart | None:
    """A focus area's stops per month, in its beats and its comparison beats, with a line
    where its focused work began."""
    words = _focus_words(area)
    return beats_trend(
        catalog,
        slug,
        _("Stops per month, {area}").format(**words),
        _(
            "Stops per month in the beats of {area} and in its comparison beats; focused "
            "work began on {start}."
        ).format(**words),
        "stops_by_month_beat",
        _focus_groups(area),
        _("stops"),
        area.start,
    )


def _focus_groups(area: FocusAreaInfo) -> list[tuple[str, tuple[str, ...]]]:
    return [(_(FOCUS_ROLES[role]), area.beats.get(role, ())) for role in ("member", "comparison")]


def _focus_words(area: FocusAreaInfo) -> dict[str, object]:
    beats = len(area.beats.get("member", ()))
    return {"area": area.name, "start": long_date(area.start), "beats": beats}
