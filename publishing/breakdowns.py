"""City-wide breakdowns a policy may release: why people were stopped by the race recorded,
stops by sex and by age, and uses of force by type.

Each is drawn from its own city-wide table and only when the release has it (``None``
otherwise), so a policy that does not release ages shows no age chart. Codes the department
does not record are left out, as everywhere (:func:`publishing.figures.category_totals`).
"""

from __future__ import annotations

from publishing.catalog import Catalog
from publishing.charts import Chart, bar_chart
from publishing.estimates import Estimate, ratio, scaled, total
from publishing.figures import category_totals
from publishing.labels import label

Groups = list[tuple[str, list[tuple[str, Estimate]]]]


def reason_shares_by_race(catalog: Catalog, period: str) -> Groups:
    """For each race recorded, the percentage of that group's stops made for each reason
    (``stops_by_reason_race`` over the group's stops in ``stops_by_race``, two tables
    measured apart); a group whose stops are not clearly above zero is left out (a share of
    nothing means nothing)."""
    table = catalog.table(period, "stops_by_reason_race")
    groups = catalog.table(period, "stops_by_race")
    if table is None or groups is None:
        return []
    stops_of = dict(category_totals(groups, "subject_race"))
    reasons = [code for code, _ in category_totals(table, "reason")]
    shares: Groups = []
    for race, _ in category_totals(table, "subject_race"):
        if race not in stops_of:
            continue
        series = []
        for reason in reasons:
            share = ratio(total(table.where(reason=reason, subject_race=race)), stops_of[race])
            if share is not None:
                series.append((label(reason), scaled(share, 100)))
        if series:
            shares.append((label(race), series))
    return shares


def stop_reasons_by_race(catalog: Catalog, period: str) -> Chart | None:
    """Why people of each race recorded were stopped, as shares of that group's stops."""
    shares = reason_shares_by_race(catalog, period)
    if not shares:
        return None
    noun = catalog.vocabulary("subject_race", period).noun
    where = catalog.place(None)
    return bar_chart(
        "stop-reasons-race",
        f"Reasons for stops by {noun}, {where}, {period}",
        f"For each {noun} officers recorded in {where} in {period}, the percentage of that "
        "group's stops made for each reason, with 95% intervals. Compare the bars of one "
        "reason across groups: a group stopped more often for one reason than others were.",
        "% of the group's stops",
        shares,
        digits=1,
        suffix="%",
        category_title="reason",
    )


def _counts(
    catalog: Catalog,
    period: str,
    name: str,
    dimension: str,
    *,
    slug: str,
    what: str,
    of: str,
    unit: str,
) -> Chart | None:
    """One city-wide table's counts per recorded code, as bars with their intervals."""
    table = catalog.table(period, name)
    bars = [] if table is None else category_totals(table, dimension)
    if not bars:
        return None
    where = catalog.place(None)
    return bar_chart(
        slug,
        f"{what} by {of}, {where}, {period}",
        f"{what} in {where} in {period} by the {of} recorded, with 95% intervals.",
        unit,
        [(what, [(label(code), estimate) for code, estimate in bars])],
        category_title=of,
    )


def stops_by_sex(catalog: Catalog, period: str) -> Chart | None:
    """Stops by the person's recorded sex, where the policy releases it."""
    return _counts(
        catalog,
        period,
        "stops_by_sex",
        "subject_sex",
        slug="stops-sex",
        what="Stops",
        of="sex",
        unit="stops",
    )


def stops_by_age(catalog: Catalog, period: str) -> Chart | None:
    """Stops by the person's recorded age band, where the policy releases it."""
    return _counts(
        catalog,
        period,
        "stops_by_age_band",
        "subject_age_band",
        slug="stops-age",
        what="Stops",
        of="age",
        unit="stops",
    )


def force_by_type(catalog: Catalog, period: str) -> Chart | None:
    """Uses of force by type, where the department records it and the policy releases it."""
    return _counts(
        catalog,
        period,
        "force_by_type",
        "force_type",
        slug="force-type",
        what="Uses of force",
        of="type",
        unit="uses of force",
    )


def residents_by_race(catalog: Catalog) -> tuple[dict[str, int], str]:
    """The city's residents by race or ethnic group, from the declared areas: the city's
    own figures if it has them, else the sum over the districts or else the beats that have
    them; with the words that say where they come from ("84 of 87 beats"). Empty when no
    area gives them."""
    for level in ("city", "district", "beat"):
        areas = catalog.areas_at(level)
        given = [a for a in areas if a.population_by_race]
        if not given:
            continue
        residents: dict[str, int] = {}
        for area in given:
            for group, count in area.population_by_race.items():
                residents[group] = residents.get(group, 0) + count
        source = "the city's" if level == "city" else f"{len(given)} of {len(areas)} {level}s'"
        return residents, f"{source} declared populations"
    return {}, ""


def per_resident_by_race(catalog: Catalog, period: str) -> Groups:
    """Stops and searches per 1,000 residents of each race the areas give residents for
    (the city-wide tables over those residents, a known constant)."""
    residents, _ = residents_by_race(catalog)
    groups: Groups = []
    for name, what in (("stops_by_race", "Stops"), ("searches_by_race", "Searches")):
        table = catalog.table(period, name)
        if table is None or not residents:
            continue
        series = [
            (label(race), scaled(estimate, 1000 / residents[race]))
            for race, estimate in category_totals(table, "subject_race")
            if residents.get(race)
        ]
        if series:
            groups.append((f"{what} per 1,000 residents", series))
    return groups


def rates_by_race(catalog: Catalog, period: str) -> Chart | None:
    """Stops and searches per 1,000 residents of each race, where the areas carry the
    city's population by race."""
    groups = per_resident_by_race(catalog, period)
    if not groups:
        return None
    _, source = residents_by_race(catalog)
    noun = catalog.vocabulary("subject_race", period).noun
    where = catalog.place(None)
    shown = {race for _, series in groups for race, _ in series}
    missing = [
        label(code)
        for code in catalog.vocabulary("subject_race", period).codes
        if label(code) not in shown and code != "unknown"
    ]
    left_out = (
        f" Groups without residents in them ({', '.join(missing)}) are left out, as are "
        "stops whose race was not recorded."
        if missing
        else " Stops whose race was not recorded are left out."
    )
    return bar_chart(
        "race-rates",
        f"Stops and searches per 1,000 residents by {noun}, {where}, {period}",
        f"Stops and searches in {where} in {period} per 1,000 residents of each {noun}, "
        f"with 95% intervals; residents from {source} by {noun}.{left_out} Residents are "
        "where people live, not who passes through, so a rate can count visitors too.",
        "per 1,000 residents",
        groups,
        digits=1,
        category_title=noun,
    )
