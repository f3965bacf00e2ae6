"""Chart builders: one function per kind of chart, used by the site and the PDF reports.

A :class:`Chart` holds the Plotly figure, a sentence that says what it shows, and the same
numbers as a data table (for people who do not see the chart, and for pages read without
JavaScript). Colours are the Okabe-Ito palette, which stays distinct under the common
forms of colour blindness; every value is drawn with its 95% interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from publishing.estimates import Estimate
from publishing.i18n import _, month_words, number

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933")
BAND_ALPHA = 0.25  # an interval band's fill
BAND_EDGE_ALPHA = 0.6  # its outline, which keeps a band that is only a few pixels high seen
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class DataTable:
    """The numbers behind a chart, as rows of text."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A figure with its words and its data."""

    slug: str
    title: str
    sentence: str
    figure: go.Figure
    table: DataTable

    def figure_json(self) -> str:
        """The figure as Plotly JSON, for the page's local plotly.js bundle."""
        text = json.dumps(self.figure.to_plotly_json(), separators=(",", ":"), cls=_PlotlyEncoder)
        return text.replace("</", "<\\/")  # safe inside a <script type="application/json">


class _PlotlyEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if hasattr(o, "tolist"):
            return o.tolist()
        return super().default(o)


def fmt(value: float, digits: int = 0) -> str:
    """A number as people read it: thousands separated, never "-0"."""
    if round(value, digits) == 0:
        value = 0.0
    return number(value, digits)


def signed(value: float, digits: int = 1) -> str:
    """A change with its sign ("+2.5", "-0.3"), and no sign on a change that rounds to
    zero ("0.0", never "-0.0")."""
    if round(value, digits) == 0:
        return number(0.0, digits)
    return ("+" if value > 0 else "-") + number(abs(value), digits)


def interval_text(estimate: Estimate, digits: int = 0, suffix: str = "") -> str:
    """``1,234 (1,200 to 1,270)``. What is shown is a count, a rate or a share, never
    below zero: a figure whose unbiased estimate is below zero reads 0, and its interval
    is cut at 0 (which keeps the true value as often, since it is never below)."""
    value, low = max(0.0, estimate.value), max(0.0, estimate.low)
    return _("{value} ({low} to {high})").format(
        value=fmt(value, digits) + suffix,
        low=fmt(low, digits),
        high=fmt(max(low, estimate.high), digits) + suffix,
    )


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 16}},
        "font": {"family": FONT, "size": 13, "color": "#1a1a1a"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 64, "r": 16, "t": 48, "b": 56},
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": "#d9d9d9",
            "rangemode": "tozero",
            "zerolinecolor": "#8c8c8c",
            # Labels stand off the axes, so the y axis's 0 and the first date never meet
            # at the corner.
            "ticklabelstandoff": 6,
        },
        "xaxis": {"gridcolor": "#eeeeee", "ticklabelstandoff": 8},
        "legend": {"orientation": "h", "y": -0.2},
        "hovermode": "x unified",
        # Plotly's own numbers (hover, ticks) as the language writes them.
        "separators": _(".,"),
        **extra,
    }


MONTH_TICKS = 8  # at most, on a printed trend's time axis


def month_ticks(figure: go.Figure) -> None:
    """Name the months on ``figure``'s time axis in the language being spoken, at the
    starts of quarters (or half-years, or years, so that at most :data:`MONTH_TICKS` are
    shown). For print, where the width is fixed: the site's plotly.js names them itself in
    the page's language. A figure whose x values are not months (``YYYY-MM``) is left as
    it is."""
    months = sorted({x for trace in figure.data for x in (trace.x or ()) if isinstance(x, str)})
    if not months or not all(_is_month(m) for m in months):
        return
    first, last = months[0], months[-1]
    span = 12 * (int(last[:4]) - int(first[:4])) + int(last[5:]) - int(first[5:]) + 1
    step = next((s for s in (1, 3, 6, 12) if span / s <= MONTH_TICKS), 12 * (span // 96 + 1))
    ticks = [m for m in months if (int(m[5:]) - 1) % min(step, 12) == 0]
    if step > 12:
        ticks = ticks[:: step // 12]
    figure.update_xaxes(tickvals=ticks, ticktext=[month_words(m, short=True) for m in ticks])


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()


def trend_chart(
    slug: str,
    title: str,
    sentence: str,
    y_title: str,
    series: Sequence[tuple[str, Sequence[tuple[str, Estimate]]]],
    digits: int = 0,
    suffix: str = "",
    start: tuple[str, str] | None = None,
) -> Chart:
    """Lines over time, each with a shaded band for its 95% interval, outlined so that a
    narrow band still shows. ``start`` marks a moment (an x value and its words) with a
    dotted vertical line."""
    _distinct_colours(len(series))
    figure = go.Figure()
    for index, (label, shown) in enumerate(series):
        colour = PALETTE[index]
        points = [(x, at_least_zero(e)) for x, e in shown]
        xs = [x for x, _ in points]
        figure.add_trace(
            go.Scatter(
                x=[*xs, *reversed(xs)],
                y=[e.high for _, e in points] + [e.low for _, e in reversed(points)],
                fill="toself",
                fillcolor=_transparent(colour, BAND_ALPHA),
                mode="lines",  # a band has no point markers
                line={"width": 0.75, "color": _transparent(colour, BAND_EDGE_ALPHA)},
                hoverinfo="skip",
                showlegend=False,
                name=_("{label} 95% interval").format(label=label),
            )
        )
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=[e.value for _, e in points],
                mode="lines+markers",
                name=label,
                line={"color": colour, "width": 2},
                marker={"size": 5},
                customdata=[[e.low, e.high] for _, e in points],
                hovertemplate=f"{label}: %{{y:,.{digits}f}}{suffix} ("
                + _("{low} to {high}").format(
                    low=f"%{{customdata[0]:,.{digits}f}}", high=f"%{{customdata[1]:,.{digits}f}}"
                )
                + ")<extra></extra>",
            )
        )
    figure.update_layout(_layout(title, y_title))
    if start is not None:
        at, words = start
        figure.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=at,
            x1=at,
            y0=0,
            y1=1,
            line={"color": "#1a1a1a", "dash": "dot", "width": 1.5},
        )
        figure.add_annotation(
            x=at,
            xref="x",
            y=1,
            yref="paper",
            text=words,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 12},
        )
    columns = (_("period"), *(label for label, _points in series))
    periods = list(dict.fromkeys(x for _, points in series for x, _ in points))
    lookup = [{x: e for x, e in points} for _, points in series]
    rows = tuple(
        (x, *(interval_text(s[x], digits, suffix) if x in s else "no release" for s in lookup))
        for x in periods
    )
    return Chart(slug, title, sentence, figure, DataTable(columns, rows))


def spark_chart(
    slug: str,
    title: str,
    points: Sequence[tuple[str, Estimate]],
    digits: int = 0,
    suffix: str = "",
) -> Chart:
    """A small trend of one figure, quarter by quarter, with its band: no title or legend
    (the figure it sits beside names it), its numbers in its data table."""
    chart = trend_chart(slug, title, "", "", [(title, points)], digits, suffix)
    chart.figure.update_layout(
        title=None,
        height=150,
        margin={"l": 44, "r": 8, "t": 8, "b": 28},
        showlegend=False,
        font={"size": 11},
    )
    chart.figure.update_yaxes(title=None, nticks=3)
    chart.figure.update_xaxes(nticks=4)
    sentence = _("{title}, quarter by quarter, with its 95% band.").format(title=title)
    return Chart(slug, title, sentence, chart.figure, chart.table)


def bar_chart(
    slug: str,
    title: str,
    sentence: str,
    y_title: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, Estimate]]]],
    digits: int = 0,
    suffix: str = "",
    category_title: str = "",
) -> Chart:
    """Bars (grouped when there are several groups) with 95% error bars."""
    _distinct_colours(len(groups))
    figure = go.Figure()
    for index, (label, shown) in enumerate(groups):
        bars = [(c, at_least_zero(e)) for c, e in shown]
        figure.add_trace(
            go.Bar(
                x=[c for c, _ in bars],
                y=[e.value for _, e in bars],
                name=label,
                marker={"color": PALETTE[index]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "color": "#333333",
                    "array": [e.high - e.value for _, e in bars],
                    "arrayminus": [e.value - e.low for _, e in bars],
                },
                hovertemplate=f"%{{x}}: %{{y:,.{digits}f}}{suffix}<extra>{label}</extra>",
            )
        )
    figure.update_layout(
        _layout(title, y_title, barmode="group", showlegend=len(groups) > 1, hovermode="closest")
    )
    figure.update_xaxes(title={"text": category_title})
    categories = list(dict.fromkeys(c for _, bars in groups for c, _ in bars))
    lookup = [{c: e for c, e in bars} for _, bars in groups]
    columns = (category_title or _("category"), *(label for label, _shown in groups))
    rows = tuple(
        (c, *(interval_text(g[c], digits, suffix) if c in g else "" for g in lookup))
        for c in categories
    )
    return Chart(slug, title, sentence, figure, DataTable(columns, rows))


def area_map(
    slug: str,
    title: str,
    sentence: str,
    value_title: str,
    areas: Sequence[tuple[str, dict[str, Any], Estimate]],
    digits: int = 0,
) -> Chart:
    """A choropleth of areas drawn from their GeoJSON boundaries: no base map, no tiles,
    nothing fetched from elsewhere. Areas are shaded in four bands of equal width, darker
    meaning more; the legend names each band's range."""
    values = [e.value for _, _, e in areas]
    top = max(values) if values and max(values) > 0 else 1.0
    bands = 4
    figure = go.Figure()
    shown: set[int] = set()
    for name, boundary, estimate in areas:
        band = _band_of(estimate.value, top, bands)
        low, high = top * band / bands, top * (band + 1) / bands
        for ring in _rings(boundary):
            figure.add_trace(
                go.Scatter(
                    x=[p[0] for p in ring],
                    y=[p[1] for p in ring],
                    fill="toself",
                    fillcolor=_sequential((band + 0.5) / bands),
                    line={"color": "#ffffff", "width": 1.5},
                    mode="lines",
                    hoveron="fills",
                    name=_("{low} to {high}").format(low=fmt(low, digits), high=fmt(high, digits)),
                    legendgroup=str(band),
                    legendrank=band,
                    showlegend=band not in shown,
                    text=f"{name}: {interval_text(estimate, digits)}",
                    hoverinfo="text",
                )
            )
            shown.add(band)
    # Each area named at the middle of its largest ring, so the printed map needs no hover.
    middles = [_middle(max(_rings(boundary), key=len, default=[])) for _, boundary, _ in areas]
    named = [
        (name, at, _band_of(estimate.value, top, bands))
        for (name, _, estimate), at in zip(areas, middles, strict=True)
        if at
    ]
    figure.add_trace(
        go.Scatter(
            x=[at[0] for _, at, _ in named],
            y=[at[1] for _, at, _ in named],
            text=[name for name, _, _ in named],
            mode="text",
            # White on the two darker bands, ink on the lighter ones: readable on each.
            textfont={
                "size": 11,
                "color": ["#ffffff" if band >= bands / 2 else "#1a1a1a" for _, _, band in named],
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.update_layout(
        _layout(
            title, "", hovermode="closest", showlegend=True, legend={"title": {"text": value_title}}
        )
    )
    xs = [p[0] for _, boundary, _ in areas for ring in _rings(boundary) for p in ring]
    ys = [p[1] for _, boundary, _ in areas for ring in _rings(boundary) for p in ring]
    if xs and ys:
        # Longitude degrees are shorter than latitude's away from the equator: about
        # 1/cos(latitude) keeps the districts' shapes.
        ratio = 1 / max(0.2, math.cos(math.radians((min(ys) + max(ys)) / 2)))
        figure.update_xaxes(visible=False, range=[min(xs), max(xs)])
        figure.update_yaxes(
            visible=False,
            range=[min(ys), max(ys)],
            rangemode="normal",
            scaleanchor="x",
            scaleratio=ratio,
        )
    rows = tuple((name, interval_text(e, digits)) for name, _, e in areas)
    return Chart(slug, title, sentence, figure, DataTable((_("area"), value_title), rows))


def lorenz_chart(
    slug: str,
    title: str,
    sentence: str,
    curve: Sequence[tuple[float, float]],
    shares: Sequence[tuple[str, Estimate]],
) -> Chart:
    """A Lorenz curve (share of beats, least busy first, against their share of incidents)
    beside the line of equal shares; the table gives the top beats' shares with intervals."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name=_("Equal shares"),
            line={"color": "#8c8c8c", "dash": "dash", "width": 1.5},
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[100 * x for x, _ in curve],
            y=[100 * y for _, y in curve],
            mode="lines",
            name=_("Beats"),
            line={"color": PALETTE[0], "width": 2.5},
            hovertemplate=_("%{x:.0f}% of beats: %{y:.1f}% of incidents") + "<extra></extra>",
        )
    )
    figure.update_layout(_layout(title, _("% of incidents (cumulative)"), hovermode="closest"))
    figure.update_xaxes(title={"text": _("% of beats, least busy first")}, range=[0, 100])
    figure.update_yaxes(range=[0, 100])
    rows = tuple((name, interval_text(e, 1, "%")) for name, e in shares)
    return Chart(
        slug,
        title,
        sentence,
        figure,
        DataTable((_("busiest beats"), _("share of incidents")), rows),
    )


def _rings(boundary: dict[str, Any]) -> list[list[list[float]]]:
    kind, coordinates = boundary.get("type"), boundary.get("coordinates", [])
    if kind == "Polygon":
        return [coordinates[0]] if coordinates else []
    if kind == "MultiPolygon":
        return [polygon[0] for polygon in coordinates if polygon]
    return []


def _sequential(share: float) -> str:
    """A light-to-dark blue that reads in grey too (monotone in lightness)."""
    share = min(1.0, max(0.0, share))
    light, dark = (222, 235, 247), (8, 48, 107)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(light, dark, strict=True))
    return f"rgb({r},{g},{b})"


def at_least_zero(estimate: Estimate) -> Estimate:
    """A count, rate or share as a chart draws it: never below zero, its interval cut at
    zero (as :func:`interval_text` writes it; the estimate itself is kept in the data). A
    ratio's interval is already cut at zero while its estimate may lie below it, so both
    are looked at."""
    if estimate.low >= 0 and estimate.value >= 0:
        return estimate
    value, low = max(0.0, estimate.value), max(0.0, estimate.low)
    return Estimate(value, low, max(low, estimate.high), estimate.std_error, estimate.center)


def _band_of(value: float, top: float, bands: int) -> int:
    """Which of ``bands`` equal bands from 0 to ``top`` a value falls in."""
    return min(bands - 1, max(0, int(bands * value / top)))


def _middle(ring: Sequence[Sequence[float]]) -> tuple[float, float] | None:
    """The middle of a ring's bounding box, where its name is written."""
    if not ring:
        return None
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)


def _distinct_colours(count: int) -> None:
    """Refuse a chart with more series than the palette has colours: two lines of one
    colour cannot be told apart (fold the smallest into one series instead)."""
    if count > len(PALETTE):
        raise ValueError(
            f"{count} series but {len(PALETTE)} distinct colours: show at most "
            f"{len(PALETTE)} series in one chart"
        )


def _transparent(hex_colour: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
