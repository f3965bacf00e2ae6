"""Analyses from released numbers: the formulas against hand-worked examples, the focus-area
estimate against the synthetic city's known truth, and the Minneapolis files end to end."""

from __future__ import annotations

import csv
import dataclasses
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from privacy.ingest import ingest_file, load_mapping
from privacy.release.build import build_release
from privacy.release.policy import load_policy
from privacy.synth.simulate import CitySimulator
from publishing.analysis.concentration import basic_bootstrap, concentration, top_shares
from publishing.analysis.focus import (
    Totals,
    did_result,
    difference_in_differences,
    displacement,
    evaluate,
)
from publishing.analysis.windows import before_and_after
from publishing.breakdowns import (
    per_resident_by_race,
    rates_by_race,
    stop_reasons_by_race,
    stops_by_age,
    stops_by_sex,
)
from publishing.catalog import load_catalog
from publishing.charts import at_least_zero, bar_chart, fmt, interval_text, signed, trend_chart
from publishing.estimates import Estimate, ratio
from publishing.figures import category_totals, no_action_share, search_rates
from publishing.headlines import Headline
from tests.conftest import shared_file


def exact(value: float, se: float = 0.0) -> Estimate:
    return Estimate(value, value - 1.96 * se, value + 1.96 * se, se)


def test_difference_in_differences_by_hand() -> None:
    # Focus beats: 200 before, 150 after (-25%); comparison: 400 before, 440 after (+10%).
    totals = Totals(exact(200, 10), exact(150, 10), exact(400, 20), exact(440, 20))

    log_ratio, noise, counts = difference_in_differences(totals)  # type: ignore[misc]
    result = did_result("crime", "Reported crimes", totals, (12, 12))

    assert math.exp(log_ratio) == pytest.approx((150 / 200) / (440 / 400))  # 0.6818...
    assert noise == pytest.approx(
        (10 / 200) ** 2 + (10 / 150) ** 2 + (20 / 400) ** 2 + (20 / 440) ** 2
    )
    assert counts == pytest.approx(1 / 200 + 1 / 150 + 1 / 400 + 1 / 440)
    assert result is not None
    assert result.percent == pytest.approx(-31.818, abs=1e-3)
    half = 1.959963984540054 * math.sqrt(noise + counts)
    assert result.interval == pytest.approx(
        (100 * (math.exp(log_ratio - half) - 1), 100 * (math.exp(log_ratio + half) - 1))
    )
    assert result.noise_interval[0] > result.interval[0]  # noise alone is the narrower part
    assert result.reading().startswith("reported crimes fell by about 32%")


def test_no_clear_change_is_said_when_the_interval_spans_zero() -> None:
    totals = Totals(exact(20, 5), exact(19, 5), exact(40, 5), exact(41, 5))
    result = did_result("stops", "Stops", totals, (12, 12))
    assert result is not None and result.reading().startswith("no clear change")


def test_the_weighted_displacement_quotient_by_hand() -> None:
    # Focus 1,000 -> 600, buffer 800 -> 1,000, comparison 5,000 -> 5,000 (counts large
    # enough that count variation leaves the signs clear).
    totals = Totals(exact(1000), exact(600), exact(5000), exact(5000), exact(800), exact(1000))

    found = displacement(totals, simulations=20_000)

    assert found is not None
    success = 600 / 5000 - 1000 / 5000  # -0.08: crime in the focus area fell
    buffer = 1000 / 5000 - 800 / 5000  # +0.04: rose next door
    assert found.success == pytest.approx(success)
    assert found.buffer_change == pytest.approx(buffer)
    assert found.wdq == pytest.approx(buffer / success)  # -0.5: displacement
    assert found.reading().startswith("displacement")


def test_displacement_is_not_judged_without_a_clear_fall() -> None:
    totals = Totals(exact(100), exact(100), exact(500), exact(500), exact(80), exact(120))
    found = displacement(totals)
    assert found is not None and found.wdq is None
    assert "cannot be judged" in found.reading()


def test_a_hit_rate_ratio_by_the_delta_method() -> None:
    hits, searches = exact(30, 3), exact(120, 4)

    rate = ratio(hits, searches)

    assert rate is not None
    assert rate.value == pytest.approx(0.25)
    assert rate.std_error == pytest.approx(math.sqrt((3 / 120) ** 2 + (0.25 * 4 / 120) ** 2))
    assert ratio(hits, exact(0, 3)) is None  # a rate over nothing is not shown


def test_top_shares_by_hand() -> None:
    beats = np.array([50.0, 10, 10, 10, 5, 5, 5, 5, 0, 0])
    assert top_shares(beats, (1, 2, 5)).tolist() == [[0.5, 0.6, 0.85]]


def test_a_top_share_lies_inside_its_own_interval() -> None:
    # Seen on the site: "50.7% (57.8 to 66.3%)". Noisy estimates below zero shrink the
    # released total, so the share computed from them sat above every simulated one, and
    # the interval, moved back by the lean, left the uncorrected share outside it.
    point = np.array([0.507])
    simulated = np.linspace(0.35, 0.44, 2001)[:, None]

    share, low, high = basic_bootstrap(point, simulated)

    assert low[0] <= share[0] <= high[0]
    assert share[0] == pytest.approx(2 * 0.507 - 0.395)


def test_before_and_after_leave_out_the_month_the_start_falls_in() -> None:
    class Released:
        periods = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")

    before, after = before_and_after(Released(), date(2024, 5, 15), span=3)  # type: ignore[arg-type]

    assert before == ["2024-02", "2024-03", "2024-04"]
    assert after == ["2024-06", "2024-07", "2024-08"]


def test_focus_area_intervals_cover_the_true_effect() -> None:
    """A smaller version of bench/accuracy.py's: 30 simulated cities (fresh counts, fresh
    privacy noise, the same true effects), two focus areas, crime and stops: at least 85% of
    the 120 intervals hold the truth (at the 95% they are built for, falling under 85% has
    a chance below one in a million)."""
    simulator = CitySimulator()
    rng = np.random.default_rng(20251130)
    covered, errors = [], []
    for _ in range(30):
        city = simulator.city(rng)
        for code, area in city.catalog.focus_areas.items():
            evaluation = evaluate(city.catalog, area)
            assert evaluation is not None
            for result in evaluation.results:
                if result.outcome not in city.true_effects[code]:
                    continue
                truth = 100 * (city.true_effects[code][result.outcome] - 1)
                covered.append(result.interval[0] <= truth <= result.interval[1])
                errors.append(abs(result.percent - truth))

    assert len(covered) == 120
    assert sum(covered) / len(covered) >= 0.85, sum(covered)
    assert float(np.mean(errors)) < 3.0  # percentage points


@pytest.mark.realdata
def test_minneapolis_2017_through_ingest_release_and_analyses(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    for kind, name, mapping in (
        ("areas", "mpls_neighborhood_demographics_2015.csv", "minneapolis-areas"),
        ("stops", "mpls_stops_2017.csv", "minneapolis-stops"),
        ("incidents", "mpls_police_incidents_2017.csv", "minneapolis-incidents"),
    ):
        ingest_file(internal, public, kind, shared_file("minneapolis", name), load_mapping(mapping))
    policy = load_policy("quarterly")
    for quarter in ("2017Q1", "2017Q2"):
        build_release(internal, public, quarter, policy, actor="test")

    catalog = load_catalog(public)
    spread = concentration(catalog, "2017Q2")
    share = no_action_share(catalog, None)
    rates = search_rates(catalog, "2017Q2", None)

    assert spread is not None and spread.beats > 80  # Minneapolis's neighbourhoods
    for top in spread.top:
        assert 0 < top.low <= top.share <= top.high <= 1
    assert share is not None and len(share.table.rows) == 6  # six released months
    # Minneapolis records searches but not what they found: search rates, no hit rate.
    assert rates is not None and rates.table.rows
    assert [trace.name for trace in rates.figure.data] == ["Search rate (per 100 stops)"]
    assert rates.title.startswith("Search rates by race")
    assert catalog.focus_areas == {}  # Minneapolis declares none: nothing to evaluate
    # Minneapolis records two reasons and the person's sex, but no age.
    reasons = stop_reasons_by_race(catalog, "2017Q2")
    assert reasons is not None
    assert {name for trace in reasons.figure.data for name in trace.x} == {
        "Traffic violation",
        "Suspicious activity",
    }
    sexes = stops_by_sex(catalog, "2017Q2")
    assert sexes is not None and sexes.figure.data[0].x == ("Female", "Male", "Not recorded")
    assert stops_by_age(catalog, "2017Q2") is None
    # Residents by race: the demographics file's shares of white and black residents.
    with shared_file("minneapolis", "mpls_neighborhood_demographics_2015.csv").open() as f:
        rows = list(csv.DictReader(f))
    residents = {
        group: sum(round(float(r["population"]) * float(r[group])) for r in rows)
        for group in ("white", "black")
    }
    per_resident = dict(per_resident_by_race(catalog, "2017Q2"))
    stops_by_group = dict(category_totals(catalog.table("2017Q2", "stops_by_race"), "subject_race"))
    assert [race for race, _ in per_resident["Stops per 1,000 residents"]] == ["Black", "White"]
    for (race, rate), group in zip(
        per_resident["Stops per 1,000 residents"], ("black", "white"), strict=True
    ):
        assert rate.value == pytest.approx(1000 * stops_by_group[group].value / residents[group]), (
            race
        )
    drawn = rates_by_race(catalog, "2017Q2")
    assert drawn is not None and "84 of 87 beats" in drawn.sentence


def test_a_figure_is_never_shown_below_zero() -> None:
    # A share of stops with no action whose estimate fell below zero in a small month.
    share = Estimate(-1.4, -27.9, 25.1, 13.5)
    # A ratio's interval is cut at zero while its estimate may lie below it.
    reason_share = ratio(Estimate(-1.0, -6.9, 4.9, 3.0), Estimate(200.0, 190.2, 209.8, 5.0))

    assert reason_share is not None and reason_share.value < 0 == reason_share.low
    assert at_least_zero(reason_share).value == 0.0
    assert interval_text(share, 1, "%") == "0.0% (0.0 to 25.1%)"
    assert interval_text(Estimate(8.0, -6.0, 21.0, 7.0)) == "8 (0 to 21)"
    assert interval_text(Estimate(1234.0, 1190.0, 1278.0, 22.0)) == "1,234 (1,190 to 1,278)"


def test_a_change_that_rounds_to_zero_has_no_sign() -> None:
    def change(value: float, low: float, high: float) -> str:
        return Headline(
            "stops", "Stops", exact(100), 0, "", Estimate(value, low, high, 1.0), "%", "2024Q4"
        ).change_text()

    assert change(-0.04, -0.03, 2.0) == "no clear change on 2024Q4 (between 0.0% and +2.0%)"
    assert change(-3.04, -5.0, -0.04) == "down 3.0% on 2024Q4 (95% interval -5.0% to 0.0%)"
    assert [signed(x) for x in (-0.049, 0.049, -0.05, 2.25)] == ["0.0", "0.0", "-0.1", "+2.2"]
    assert fmt(-0.4) == "0" and fmt(-0.04, 1) == "0.0"


def test_a_figure_the_earlier_release_lacks_is_not_said_to_lack_a_release() -> None:
    without = Headline("crimes", "Part I crimes reported", exact(90), 0, "", None, "%", "2018Q4")
    released = dataclasses.replace(without, previous_released=True)

    assert without.change_text() == "no release for 2018Q4 to compare with"
    assert released.change_text() == "not published for 2018Q4, so not compared"


def test_a_chart_never_draws_a_count_below_zero() -> None:
    """The methodology's promise, for charts as for text: an estimate below zero is drawn
    at 0 and its band starts at 0."""
    below = Estimate(-3.0, -10.0, 4.0, 3.5)
    trend = trend_chart("t", "t", "s", "y", [("Stops", [("2025-01", below), ("2025-02", below)])])
    band, line = (t.to_plotly_json() for t in trend.figure.data)
    assert list(line["y"]) == [0.0, 0.0]
    assert min(band["y"]) == 0.0 and max(band["y"]) == 4.0
    bars = bar_chart("b", "b", "s", "y", [("Stops", [("d1", below)])])
    (bar,) = (t.to_plotly_json() for t in bars.figure.data)
    assert list(bar["y"]) == [0.0]
    assert list(bar["error_y"]["arrayminus"]) == [0.0] and list(bar["error_y"]["array"]) == [4.0]
