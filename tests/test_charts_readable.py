"""Charts that read at a glance: one colour per series, interval bands without point markers
and with an outline, maps that name their areas, and a focus area's start marked on its
trends. Checked on the charts the site and the report draw for the demo city."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from publishing import figures
from publishing.catalog import Catalog
from publishing.charts import PALETTE, Chart, trend_chart
from publishing.estimates import Estimate
from publishing.i18n import long_date
from publishing.reports import report_sections

pytestmark = pytest.mark.parametrize("published_city", ["sqlite"], indirect=True)
PERIOD = "2025Q4"


def traces(chart: Chart) -> list[dict[str, Any]]:
    return [trace.to_plotly_json() for trace in chart.figure.data]


def every_chart(catalog: Catalog) -> list[Chart]:
    """The report's charts and the site's dashboards' charts, city-wide and for a district."""
    charts = [c for s in report_sections(catalog.up_to(PERIOD, 8), PERIOD) for c in s.charts]
    for district in (None, "d3"):
        charts += [
            figures.stops_trend(catalog, district),
            figures.crime_trend(catalog, district),
            figures.no_action_share(catalog, district),
            figures.stops_by_race(catalog, PERIOD, district),
            figures.stops_by_outcome(catalog, PERIOD, district),
            figures.search_rates(catalog, PERIOD, district),
            figures.force_trend(catalog, district),
            figures.force_by_race(catalog, PERIOD, district),
        ]
    return [c for c in charts if c is not None]


def test_each_series_of_a_chart_has_a_colour_of_its_own(catalog: Catalog) -> None:
    charts = every_chart(catalog)
    assert len(charts) > 20
    for chart in charts:
        colours = [
            t.get("line", {}).get("color") or t.get("marker", {}).get("color")
            for t in traces(chart)
            if t.get("showlegend", True) is not False and t.get("mode") != "text"
        ]
        if chart.slug == "district-map":
            continue  # shaded by band, named in place
        assert len(colours) == len(set(colours)), (chart.slug, colours)


def test_nine_offence_categories_fold_into_eight_lines(catalog: Catalog) -> None:
    chart = figures.crime_trend(catalog, None)
    assert chart is not None

    names = [t["name"] for t in traces(chart) if not t["name"].endswith("95% interval")]
    assert len(names) == len(PALETTE) and names[-1] == "All other offences"
    assert "are added together" in chart.sentence
    with pytest.raises(ValueError, match="9 series but 8 distinct colours"):
        point = Estimate(1.0, 0.0, 2.0, 0.5)
        trend_chart("x", "t", "s", "y", [(str(n), [("2025-01", point)]) for n in range(9)])


def test_bands_have_no_point_markers_and_an_outline(catalog: Catalog) -> None:
    bands = [
        t
        for chart in every_chart(catalog)
        for t in traces(chart)
        if str(t.get("name", "")).endswith("95% interval")
    ]
    assert len(bands) > 20
    for band in bands:
        assert band["mode"] == "lines" and band["line"]["width"] > 0


def test_the_district_map_names_every_district(catalog: Catalog) -> None:
    chart = figures.district_map(catalog, PERIOD)
    assert chart is not None

    (labels,) = [t for t in traces(chart) if t.get("mode") == "text"]
    assert sorted(labels["text"]) == sorted(a.name for a in catalog.areas_at("district"))


def test_a_focus_area_trend_marks_its_start(catalog: Catalog) -> None:
    area = catalog.focus_areas["fa1"]
    groups = [("Focus area beats", area.beats["member"])]
    chart = figures.beats_trend(
        catalog,
        "focus",
        "t",
        "s",
        "incidents_by_month_beat_offense",
        groups,
        "crimes",
        area.start,
    )
    assert chart is not None

    (line,) = chart.figure.layout.shapes
    (note,) = chart.figure.layout.annotations
    assert line.x0 == line.x1 == area.start.isoformat() == note.x
    assert note.text == f"began {long_date(area.start)}"  # in words, as the sentences say
    assert isinstance(area.start, date)
