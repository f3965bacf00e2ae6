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
from publishing.i18n import _
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
    for race, _total in category_totals(table, "subject_race"):
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
    words = {
        "noun": _(catalog.vocabulary("subject_race", period).noun),
        "where": catalog.place(None),
        "period": period,
    }
    return bar_chart(
        "stop-reasons-race",
        _("Reasons for stops by {noun}, {where}, {period}").format(**words),
        _(
            "For each {noun} officers recorded in {where} in {period}, the percentage of that "
            "group's stops made for each reason, with 95% intervals. Compare the bars of one "
            "reason across groups: a group stopped more often for one reason than others were."
        ).format(**words),
        _("% of the group's stops"),
        shares,
        digits=1,
        suffix="%",
        category_title=_("reason"),
    )


def _counts(
    catalog: Catalog,
    period: str,
    name: str,
    dimension: str,
    *,
    slug: str,
    series: str,
    title: str,
    sentence: str,
    unit: str,
    of: str,
) -> Chart | None:
    """One city-wide table's counts per recorded code, as bars with their intervals
    (``title`` and ``sentence`` take ``{where}`` and ``{period}``)."""
    table = catalog.table(period, name)
    bars = [] if table is None else category_totals(table, dimension)
    if not bars:
        return None
    words = {"where": catalog.place(None), "period": period}
    return bar_chart(
        slug,
        title.format(**words),
        sentence.format(**words),
        unit,
        [(series, [(label(code), estimate) for code, estimate in bars])],
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
        series=_("Stops"),
        title=_("Stops by sex, {where}, {period}"),
        sentence=_("Stops in {where} in {period} by the sex recorded, with 95% intervals."),
        unit=_("stops"),
        of=_("sex"),
    )


def stops_by_age(catalog: Catalog, period: str) -> Chart | None:
    """Stops by the person's recorded age band, where the policy releases it."""
    return _counts(
        catalog,
        period,
        "stops_by_age_band",
        "subject_age_band",
        slug="stops-age",
        series=_("Stops"),
        title=_("Stops by age, {where}, {period}"),
        sentence=_("Stops in {where} in {period} by the age recorded, with 95% intervals."),
        unit=_("stops"),
        of=_("age"),
    )


def force_by_type(catalog: Catalog, period: str) -> Chart | None:
    """Uses of force by type, where the department records it and the policy releases it."""
    return _counts(
        catalog,
        period,
        "force_by_type",
        "force_type",
        slug="force-type",
        series=_("Uses of force"),
        title=_("Uses of force by type, {where}, {period}"),
        sentence=_(
            "Uses of force in {where} in {period} by the type recorded, with 95% intervals."
        ),
        unit=_("uses of force"),
        of=_("type"),
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
        if level == "city":
            return residents, _("the city's declared populations")
        words = (
            _("the declared populations of {given} of {all} districts")
            if level == "district"
            else _("the declared populations of {given} of {all} beats")
        )
        return residents, words.format(given=len(given), all=len(areas))
    return {}, ""


def per_resident_by_race(catalog: Catalog, period: str) -> Groups:
    """Stops and searches per 1,000 residents of each race the areas give residents for
    (the city-wide tables over those residents, a known constant)."""
    return _per_resident(catalog, period, residents_by_race(catalog)[0])


def _per_resident(catalog: Catalog, period: str, residents: dict[str, int]) -> Groups:
    groups: Groups = []
    for name, what in (
        ("stops_by_race", _("Stops per 1,000 residents")),
        ("searches_by_race", _("Searches per 1,000 residents")),
    ):
        table = catalog.table(period, name)
        if table is None or not residents:
            continue
        series = [
            (label(race), scaled(estimate, 1000 / residents[race]))
            for race, estimate in category_totals(table, "subject_race")
            if residents.get(race)
        ]
        if series:
            groups.append((what, series))
    return groups


def rates_by_race(catalog: Catalog, period: str) -> Chart | None:
    """Stops and searches per 1,000 residents of each race, where the areas carry the
    city's population by race."""
    residents, source = residents_by_race(catalog)
    groups = _per_resident(catalog, period, residents)
    if not groups:
        return None
    noun = _(catalog.vocabulary("subject_race", period).noun)
    where = catalog.place(None)
    shown = {race for _group, series in groups for race, _rate in series}
    missing = [
        label(code)
        for code in catalog.vocabulary("subject_race", period).codes
        if label(code) not in shown and code != "unknown"
    ]
    left_out = (
        _(
            "Groups without residents in them ({groups}) are left out, as are stops whose race "
            "was not recorded."
        ).format(groups=", ".join(missing))
        if missing
        else _("Stops whose race was not recorded are left out.")
    )
    return bar_chart(
        "race-rates",
        _("Stops and searches per 1,000 residents by {noun}, {where}, {period}").format(
            noun=noun, where=where, period=period
        ),
        _(
            "Stops and searches in {where} in {period} per 1,000 residents of each {noun}, "
            "with 95% intervals; residents from {source} by {noun}."
        ).format(where=where, period=period, noun=noun, source=source)
        + " "
        + left_out
        + " "
        + _(
            "Residents are where people live, not who passes through, so a rate can count "
            "visitors too."
        ),
        _("per 1,000 residents"),
        groups,
        digits=1,
        category_title=noun,
    )
