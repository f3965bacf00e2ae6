"""A quarter's headline figures, with their change on the same quarter a year earlier, and
a plain-language summary: the home page's and the report's first numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from publishing import definitions
from publishing.catalog import Catalog
from publishing.charts import Chart, fmt, interval_text, signed, spark_chart
from publishing.estimates import Z95, Estimate, added, percent_change, ratio, scaled, total
from publishing.i18n import N_, _
from publishing.periods import quarter_between, quarters_words
from publishing.releases import PublishedTable
from publishing.vocabularies import Headline as VocabularyHeadline


def year_earlier(period: str) -> str:
    """The same quarter a year before (2025Q3 -> 2024Q3)."""
    return f"{int(period[:4]) - 1}{period[4:]}"


@dataclass(frozen=True)
class Headline:
    """One headline figure of a quarter, with its change on the same quarter a year
    earlier when both were released."""

    key: str
    label: str
    estimate: Estimate
    digits: int
    suffix: str
    change: Estimate | None  # percent (or percentage points for a share)
    change_unit: str
    previous: str
    not_compared: str = ""  # why no change is computed (a partial quarter), if that is why
    previous_released: bool = False  # whether the year-earlier quarter has a release

    def value_text(self) -> str:
        """The figure and its interval in words."""
        return interval_text(self.estimate, self.digits, self.suffix)

    def change_text(self) -> str:
        """The change, read so as not to overstate it."""
        if self.not_compared:
            return self.not_compared
        if self.change is None and self.previous_released:
            return _("not published for {previous}, so not compared").format(previous=self.previous)
        if self.change is None:
            return _("no release for {previous} to compare with").format(previous=self.previous)
        unit = _(self.change_unit) if self.change_unit.strip() else self.change_unit
        low, high = f"{signed(self.change.low)}{unit}", f"{signed(self.change.high)}{unit}"
        words = {"previous": self.previous, "low": low, "high": high}
        if self.change.spans_zero:
            return _("no clear change on {previous} (between {low} and {high})").format(**words)
        size = fmt(abs(self.change.value), 1) + unit
        if self.change.value > 0:
            return _("up {size} on {previous} (95% interval {low} to {high})").format(
                size=size, **words
            )
        return _("down {size} on {previous} (95% interval {low} to {high})").format(
            size=size, **words
        )


def released_total(table: PublishedTable | None, **where: str | Iterable[str]) -> Estimate | None:
    """The total of a table's cells matching ``where``, or None without the table or when
    every one is a structural zero (a code the department does not record)."""
    if table is None:
        return None
    cells = table.where(**where)
    return total(cells) if cells and not all(cell.structural for cell in cells) else None


def crime_headline(catalog: Catalog, period: str | None = None) -> VocabularyHeadline:
    """The crimes a period's headline counts: its offence vocabulary's own measure (Part I
    crimes, Group A offences, recorded crimes without anti-social behaviour)."""
    headline = catalog.vocabulary("offense_category", period).headline
    assert headline is not None  # every offence vocabulary has one
    return headline


def quarter_figures(catalog: Catalog, period: str) -> dict[str, Estimate]:
    """A quarter's headline numbers (those its release has), computed once per release:
    the headlines, the summary, the small trends and the year to date all read them."""
    release = catalog.current.get(period)
    if release is None:
        return {}
    return dict(catalog.derived(("quarter", release.id), lambda: _quarter_figures(catalog, period)))


def _quarter_figures(catalog: Catalog, period: str) -> dict[str, Estimate]:
    t = catalog.table
    found: dict[str, Estimate | None] = {
        "stops": released_total(t(period, "stops_in_quarter")),
        "no_action": released_total(t(period, "no_action_stops_in_quarter")),
        # A department whose stops name no district has no table by district, whose level
        # these are: the city-wide tables by race add up to the same totals.
        "searches": released_total(t(period, "searches_in_quarter"))
        or released_total(t(period, "searches_by_race")),
        "hits": released_total(t(period, "search_hits_in_quarter"))
        or released_total(t(period, "search_hits_by_race")),
        "crimes": released_total(
            t(period, "incidents_by_month_offense"),
            offense_category=crime_headline(catalog, period).codes,
        ),
        "force": released_total(t(period, "force_in_quarter")),
    }
    return _with_shares({k: v for k, v in found.items() if v is not None})


def _with_shares(figures: dict[str, Estimate]) -> dict[str, Estimate]:
    """The counts with the shares made from them: no enforcement per 100 stops, hits per
    100 searches."""
    if "no_action" in figures and "stops" in figures:
        share = ratio(figures["no_action"], figures["stops"])
        if share is not None:
            figures["no_action_share"] = scaled(share, 100)
    if "hits" in figures and "searches" in figures:
        hit_rate = ratio(figures["hits"], figures["searches"])
        if hit_rate is not None:
            figures["hit_rate"] = scaled(hit_rate, 100)
    return figures


_HEADLINES = (  # each figure's name is definitions.py's
    ("stops", definitions.STOPS, 0, ""),
    ("no_action", definitions.NO_ENFORCEMENT, 0, ""),
    ("no_action_share", definitions.NO_ENFORCEMENT_SHARE, 1, "%"),
    ("searches", definitions.SEARCHES, 0, ""),
    ("hit_rate", definitions.HIT_RATE, 1, "%"),
    ("crimes", N_("{crimes} reported"), 0, ""),
    ("force", definitions.FORCE, 0, ""),
)


@dataclass(frozen=True)
class YearToDate:
    """The released quarters of a year up to one, added together."""

    year: int
    periods: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]  # (name, value and interval in words)
    partial: tuple[str, ...] = ()  # its quarters the department's data cover only in part

    def words(self) -> str:
        """``January to June 2025 (2025Q1 to 2025Q2)``."""
        first, last = self.periods[0], self.periods[-1]
        codes = first if first == last else _("{first} to {last}").format(first=first, last=last)
        return f"{quarters_words(first, last)} ({codes})"


def year_to_date(catalog: Catalog, period: str) -> YearToDate | None:
    """``period``'s year so far: each count added over the year's released quarters up to
    ``period`` (independent releases: their errors add in quadrature), the shares made from
    those sums. None when a quarter of the year before ``period`` has no release (a sum
    with a gap would be read as the year's) or only ``period`` is released."""
    year = int(period[:4])
    wanted = [f"{year}Q{n}" for n in range(1, int(period[5]) + 1)]
    if len(wanted) < 2 or any(p not in catalog.current for p in wanted):
        return None
    quarters = [quarter_figures(catalog, p) for p in wanted]
    counted = {crime_headline(catalog, p) for p in wanted}
    sums = {
        key: added(q[key] for q in quarters)
        for key in ("stops", "no_action", "searches", "hits", "force", "crimes")
        if all(key in q for q in quarters) and (key != "crimes" or len(counted) == 1)
    }
    figures = _with_shares(sums)
    label = _(crime_headline(catalog, period).label)
    shown = tuple(
        (_(name).format(crimes=label), interval_text(figures[key], digits, suffix))
        for key, name, digits, suffix in _HEADLINES
        if key in figures
    )
    partial = tuple(p for p in wanted if catalog.current[p].statement.partial)
    return YearToDate(year, tuple(wanted), shown, partial)


TREND_QUARTERS = 8  # the quarters a headline's small trend shows, the chosen one last


def headline_trends(catalog: Catalog, period: str) -> dict[str, Chart]:
    """A small quarterly trend for each headline figure: ``period`` and the quarters before
    it (crimes only while they are counted in ``period``'s vocabulary)."""
    periods = [p for p in catalog.periods if p <= period][-TREND_QUARTERS:]
    counted = crime_headline(catalog, period)
    # A partial quarter would read as a fall: it is left out of the trend.
    figures = {
        p: quarter_figures(catalog, p) for p in periods if not catalog.current[p].statement.partial
    }
    trends = {}
    for key, name, digits, suffix in _HEADLINES:
        points = [
            (p, found[key])
            for p, found in figures.items()
            if key in found and (key != "crimes" or crime_headline(catalog, p) == counted)
        ]
        if len(points) >= 2:
            label = _(name).format(crimes=_(counted.label))
            trends[key] = spark_chart(f"trend-{key}", label, points, digits, suffix)
    return trends


def headlines(catalog: Catalog, period: str) -> list[Headline]:
    """The home page's figures for ``period`` against the same quarter a year earlier."""
    now = quarter_figures(catalog, period)
    previous = year_earlier(period)
    before = quarter_figures(catalog, previous) if previous in catalog.current else {}
    partial = [
        p
        for p in (period, previous)
        if p in catalog.current and catalog.current[p].statement.partial
    ]
    not_compared = ""
    if partial:
        # A quarter only partly covered by the department's data is not compared silently.
        covered = "; ".join(
            f"{p}: {catalog.current[p].statement.coverage_words()}" for p in partial
        )
        not_compared = _(
            "not compared with {previous}: only part of the quarter is covered ({covered})"
        ).format(previous=previous, covered=covered)
        before = {}
    counted = crime_headline(catalog, period)
    if "crimes" in before and crime_headline(catalog, previous) != counted:
        del before["crimes"]  # counted in another vocabulary: not the same measure
    result = []
    for key, name, digits, suffix in _HEADLINES:
        if key not in now:
            continue
        name = _(name).format(crimes=_(counted.label))
        change, unit = None, "%"
        if key in before:
            if suffix == "%":  # a share: the change in percentage points
                se = math.hypot(now[key].std_error, before[key].std_error)
                value = now[key].unbiased - before[key].unbiased
                change = Estimate(value, value - Z95 * se, value + Z95 * se, se)
                unit = N_(" points")
            else:
                change = percent_change(now[key], before[key])
        result.append(
            Headline(
                key,
                name,
                now[key],
                digits,
                suffix,
                change,
                unit,
                previous,
                not_compared,
                previous in catalog.current,
            )
        )
    return result


def summary(catalog: Catalog, period: str) -> str:
    """A short plain-language summary of the quarter."""
    figures = {h.key: h for h in headlines(catalog, period)}
    parts = []
    if "stops" in figures:
        parts.append(
            _("Officers made about {count} stops {when}; {change}.").format(
                count=fmt(figures["stops"].estimate.value),
                when=quarter_between(period),
                change=figures["stops"].change_text(),
            )
        )
    if "no_action_share" in figures:
        parts.append(
            _("{share}% of stops ended with no enforcement action; {change}.").format(
                share=fmt(figures["no_action_share"].estimate.value),
                change=figures["no_action_share"].change_text(),
            )
        )
    if "crimes" in figures:
        counted = crime_headline(catalog, period)
        parts.append(
            _("About {count} {crimes} were reported; {change}.").format(
                count=fmt(figures["crimes"].estimate.value),
                crimes=_(counted.noun),
                change=figures["crimes"].change_text(),
            )
        )
    parts.append(
        _(
            "Every figure is a privacy-protected estimate; the range after it is where the "
            "true number lies with 95% confidence."
        )
    )
    return " ".join(parts)
