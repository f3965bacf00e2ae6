"""The city-wide breakdowns the quarterly policy releases: why people of each race were
stopped, stops by sex and by age, and uses of force by type. Read on the demo city's site
and checked against its records."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from dateutil.relativedelta import relativedelta
from litestar.testing import TestClient
from sqlalchemy import text

from portal.settings import Settings
from portal.stores import internal_engine
from portal.web.app import create_app
from privacy.vocabulary import REASON
from publishing import breakdowns, views
from publishing.breakdowns import reason_shares_by_race
from publishing.catalog import Catalog
from publishing.labels import label
from publishing.periods import quarter_end

pytestmark = pytest.mark.parametrize("published_city", ["sqlite"], indirect=True)
PERIOD = "2025Q4"


@pytest.fixture(scope="module")
def client(published_city: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(published_city)) as test_client:
        yield test_client


def chart_titles(html: str) -> list[str]:
    return re.findall(r'<h3 id="[^"]+-title">([^<]+)</h3>', html)


def test_each_groups_reasons_match_its_records(published_city: Settings, catalog: Catalog) -> None:
    engine = internal_engine(published_city)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT occurred_at, reason, subject_race FROM stops")).all()
    engine.dispose()

    z_scores = []
    for period in catalog.periods:
        start, end = (
            quarter_end(period).replace(day=1) - relativedelta(months=2),
            quarter_end(period),
        )
        chosen = [(reason, race) for at, reason, race in rows if start <= _day(at) <= end]
        pairs = Counter((label(reason), label(race)) for reason, race in chosen)
        groups = Counter(label(race) for _, race in chosen)

        shares = dict(reason_shares_by_race(catalog, period))

        # A group whose stops are not clearly above zero has no shares; a large one has.
        assert {race for race, n in groups.items() if n >= 40} <= set(shares) <= set(groups)
        for race, series in shares.items():
            assert {reason for reason, _ in series} == {label(r) for r in REASON}
            if groups[race] < 40:
                continue  # the delta method's interval needs a group clearly above the noise
            for reason, share in series:
                truth = 100 * pairs[reason, race] / groups[race]
                z_scores.append((share.unbiased - truth) / share.std_error)

    # Hundreds of shares, each off by its noise alone: none by five standard errors (one in
    # millions each), and on average by about one (the interval is neither too narrow nor
    # needlessly wide).
    assert len(z_scores) >= 100
    assert max(abs(z) for z in z_scores) < 5
    assert 0.3 < sum(z * z for z in z_scores) / len(z_scores) < 2.0


def _day(value: object) -> date:
    text_value = str(value)
    return date.fromisoformat(text_value[:10])


def test_the_stops_page_shows_the_breakdowns_city_wide_only(client: TestClient) -> None:  # type: ignore[type-arg]
    city = client.get(f"/stops?period={PERIOD}").text
    district = client.get(f"/stops?period={PERIOD}&district=d3").text

    assert [t for t in chart_titles(city) if "race" in t or "sex" in t or "age" in t] == [
        f"Stops and searches per 1,000 residents by race, Riverton, {PERIOD}",
        f"Stops by race, Riverton, {PERIOD}",
        f"Search and hit rates by race, Riverton, {PERIOD}",
        f"Reasons for stops by race, Riverton, {PERIOD}",
        f"Stops by sex, Riverton, {PERIOD}",
        f"Stops by age, Riverton, {PERIOD}",
    ]
    assert "the percentage of that group&#39;s stops made for each reason" in city
    assert not any(
        "Reasons" in t or "sex" in t or "age" in t or "residents by race" in t
        for t in chart_titles(district)
    )
    assert "not in the released tables" not in district
    assert "residents from the city&#39;s declared populations by race" in city


def test_without_residents_by_race_the_rates_are_said_to_need_them(catalog: Catalog) -> None:
    without = dataclasses.replace(
        catalog,
        areas={
            code: dataclasses.replace(area, population_by_race={})
            for code, area in catalog.areas.items()
        },
    )
    chart = next(c for c in views.STOPS if "per 1,000 residents by race" in c.what)

    assert breakdowns.rates_by_race(catalog, PERIOD) is not None
    assert chart.build(without, PERIOD, None) is None
    assert chart.missing_note() == (
        "Stops and searches per 1,000 residents by race need the areas' residents by race, "
        "which the department has not declared."
    )


def test_the_force_page_shows_uses_of_force_by_type(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get(f"/force?period={PERIOD}").text

    assert f"Uses of force by type, Riverton, {PERIOD}" in chart_titles(page)
    table = page[page.index('id="force-type-title"') :].split("</table>")[0]
    assert re.findall(r"<th[^>]*>([^<]+)</th><td>", table)[:2] == ["Bodily force", "Chemical agent"]
