"""Focus-area evaluation: difference in differences, and the weighted displacement quotient.

**Difference in differences.** With released totals for the focus area's beats (F) and its
comparison beats (C), before (b) and after (a) the intervention's start, the estimate is the
change in F beyond the change in C, as a ratio:

    (F_a / F_b) / (C_a / C_b) - 1,   in percent.

On the log scale it is a sum of four logs, so its variance is the sum of their variances.
Two sources of uncertainty are stated separately:

* the differential-privacy noise, whose variance the release publishes (the standard
  errors): var(log T) = se^2 / T^2;
* ordinary count variation (crime would vary from year to year even with the same
  underlying rate), modelled as Poisson: var(log T) = 1 / T.

The interval "with count variation" adds both; the "noise only" one says how much the
privacy protection alone blurs the estimate.

**Weighted displacement quotient** (Bowers and Johnson, 2003), with the buffer beats next
door (B): WDQ = (B_a/C_a - B_b/C_b) / (F_a/C_a - F_b/C_b). The denominator is the focus
area's success (negative when crime there fell relative to the comparison beats); the
numerator the buffer's change. Its interval is simulated from both sources of uncertainty.
A positive WDQ means a diffusion of benefits, a negative one displacement; the reading says
"no clear change" when the buffer's change is not clearly away from zero, and declines to
judge when the focus area's own change is not clearly a fall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from publishing.analysis.windows import beats_total, before_and_after
from publishing.catalog import Catalog, FocusAreaInfo
from publishing.charts import fmt, signed
from publishing.definitions import NO_ENFORCEMENT
from publishing.estimates import Z95, Estimate
from publishing.i18n import N_, _

OUTCOMES = (
    ("crime", N_("Reported crimes"), "incidents_by_month_beat_offense"),
    ("stops", N_("Stops"), "stops_by_month_beat"),
    ("no_action", NO_ENFORCEMENT, "no_action_stops_by_month_beat"),
)
SIMULATIONS = 4000
SEED = 2003  # the simulation uses released numbers only; a fixed seed keeps pages stable


@dataclass(frozen=True)
class Totals:
    """Released totals of one outcome: focus beats, comparison beats (and buffer beats),
    before and after the start."""

    focus_before: Estimate
    focus_after: Estimate
    comparison_before: Estimate
    comparison_after: Estimate
    buffer_before: Estimate | None = None
    buffer_after: Estimate | None = None


@dataclass(frozen=True)
class DidResult:
    """A difference-in-differences estimate, in percent, with its two intervals."""

    outcome: str
    label: str
    percent: float
    noise_interval: tuple[float, float]  # privacy noise only
    interval: tuple[float, float]  # privacy noise and count variation
    months_before: int
    months_after: int
    totals: Totals

    def reading(self) -> str:
        """The result in words that do not overstate it."""
        low, high = self.interval
        span = _("(95% interval {low}% to {high}%)").format(
            low=signed(low, 0), high=signed(high, 0)
        )
        if low <= 0 <= high:
            return _("no clear change relative to the comparison beats {span}").format(span=span)
        words = {"what": _(self.label).lower(), "size": fmt(abs(self.percent)), "span": span}
        if self.percent < 0:
            return _("{what} fell by about {size}% relative to the comparison beats {span}").format(
                **words
            )
        return _("{what} rose by about {size}% relative to the comparison beats {span}").format(
            **words
        )


@dataclass(frozen=True)
class Displacement:
    """The weighted displacement quotient and what it means here."""

    wdq: float | None
    interval: tuple[float, float] | None
    buffer_change: float  # B_a/C_a - B_b/C_b
    buffer_interval: tuple[float, float]
    success: float  # F_a/C_a - F_b/C_b
    success_interval: tuple[float, float]

    def reading(self) -> str:
        """Displacement, diffusion of benefits, or no clear change, in words."""
        if not self.success_interval[1] < 0:
            return _(
                "crime in the focus area did not clearly fall relative to its comparison "
                "beats, so displacement cannot be judged"
            )
        low, high = self.buffer_interval
        if low <= 0 <= high:
            return _(
                "no clear change in the buffer beats next door (neither displacement nor "
                "a diffusion of benefits is clear)"
            )
        if self.buffer_change > 0:
            return _(
                "displacement: crime in the buffer beats next door rose relative to the "
                "comparison beats"
            )
        return _(
            "diffusion of benefits: crime in the buffer beats next door also fell "
            "relative to the comparison beats"
        )


def difference_in_differences(totals: Totals) -> tuple[float, float, float] | None:
    """(log ratio, its variance from noise, its variance from count variation), or None
    when a total is not above zero."""
    parts = (
        totals.focus_after,
        totals.focus_before,
        totals.comparison_after,
        totals.comparison_before,
    )
    if any(t.value <= 0 for t in parts):
        return None
    signs = (1, -1, -1, 1)
    log_ratio = sum(s * math.log(t.value) for s, t in zip(signs, parts, strict=True))
    noise = sum((t.std_error / t.value) ** 2 for t in parts)
    counts = sum(1 / t.value for t in parts)
    return log_ratio, noise, counts


def did_result(
    outcome: str,
    label: str,
    totals: Totals,
    months: tuple[int, int],
) -> DidResult | None:
    """The estimate in percent with its intervals."""
    found = difference_in_differences(totals)
    if found is None:
        return None
    log_ratio, noise, counts = found

    def percent(x: float) -> float:
        return 100 * (math.exp(x) - 1)

    def interval(variance: float) -> tuple[float, float]:
        half = Z95 * math.sqrt(variance)
        return percent(log_ratio - half), percent(log_ratio + half)

    return DidResult(
        outcome,
        label,
        percent(log_ratio),
        interval(noise),
        interval(noise + counts),
        months[0],
        months[1],
        totals,
    )


def displacement(
    totals: Totals, *, simulations: int = SIMULATIONS, seed: int = SEED
) -> Displacement | None:
    """The WDQ with simulated intervals (noise and count variation), or None without
    buffer beats."""
    if totals.buffer_before is None or totals.buffer_after is None:
        return None
    rng = np.random.default_rng(seed)
    order = (
        totals.focus_before,
        totals.focus_after,
        totals.comparison_before,
        totals.comparison_after,
        totals.buffer_before,
        totals.buffer_after,
    )
    values = np.array([t.value for t in order])
    sds = np.sqrt(np.array([t.std_error**2 for t in order]) + np.maximum(values, 0))
    draws = np.maximum(rng.normal(values, sds, size=(simulations, len(order))), 0.5)
    f_b, f_a, c_b, c_a, b_b, b_a = (draws[:, i] for i in range(len(order)))
    success = f_a / c_a - f_b / c_b
    buffer = b_a / c_a - b_b / c_b
    v = values
    point_success = v[1] / v[3] - v[0] / v[2] if v[2] > 0 and v[3] > 0 else math.nan
    point_buffer = v[5] / v[3] - v[4] / v[2] if v[2] > 0 and v[3] > 0 else math.nan

    def quantiles(x: NDArray[np.float64]) -> tuple[float, float]:
        low, high = np.quantile(x, [0.025, 0.975])
        return float(low), float(high)

    success_interval = quantiles(success)
    wdq, wdq_interval = None, None
    if success_interval[1] < 0:  # a clear fall: the quotient means something
        wdq = point_buffer / point_success
        wdq_interval = quantiles(buffer[success < 0] / success[success < 0])
    return Displacement(
        wdq, wdq_interval, point_buffer, quantiles(buffer), point_success, success_interval
    )


@dataclass(frozen=True)
class FocusEvaluation:
    """A focus area's evaluation: one estimate per outcome, and displacement of crime."""

    area: FocusAreaInfo
    results: tuple[DidResult, ...]
    displacement: Displacement | None
    months_before: tuple[str, ...]
    months_after: tuple[str, ...]


def evaluation_as_of(
    catalog: Catalog, area: FocusAreaInfo, period: str | None = None
) -> FocusEvaluation | None:
    """``area``'s evaluation as ``period``'s release left it (the latest when None): from
    every released month up to that quarter, computed once per release and area and shared
    by the site and the report, so both show the same result, window and sentence."""
    if not catalog.periods:
        return None
    period = period or catalog.periods[-1]
    release = catalog.current.get(period)
    if release is None:
        return None
    history = catalog.up_to(period)
    return catalog.derived(("focus", release.id, area.code), lambda: evaluate(history, area))


def evaluate(catalog: Catalog, area: FocusAreaInfo) -> FocusEvaluation | None:
    """Evaluate ``area`` from the released beat tables; None when there are no released
    months on one side of its start."""
    before, after = before_and_after(catalog, area.start)
    if not before or not after:
        return None
    members = area.beats.get("member", ())
    comparison = area.beats.get("comparison", ())
    buffer = area.beats.get("buffer", ())
    results, crime_totals = [], None
    for outcome, label, table in OUTCOMES:
        sums = [
            beats_total(catalog, table, beats, months)
            for beats, months in (
                (members, before),
                (members, after),
                (comparison, before),
                (comparison, after),
            )
        ]
        if any(s is None for s in sums) or not members or not comparison:
            continue
        buffers = [
            beats_total(catalog, table, buffer, months) if buffer else None
            for months in (before, after)
        ]
        totals = Totals(*sums, *buffers)  # type: ignore[arg-type]
        if outcome == "crime":
            crime_totals = totals
        result = did_result(outcome, label, totals, (len(before), len(after)))
        if result is not None:
            results.append(result)
    return FocusEvaluation(
        area,
        tuple(results),
        displacement(crime_totals) if crime_totals else None,
        tuple(before),
        tuple(after),
    )
