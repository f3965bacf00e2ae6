"""Published numbers with their 95% intervals, and honest intervals for what is built from
them: sums of cells, differences between releases, ratios and rates.

A single cell keeps the interval the release engine published for it. For anything
computed from several cells the standard errors the release publishes are combined:

* **a sum of cells of one release**: the least-squares estimates of counts that are not
  nested in one another are never positively correlated (siblings share their parent's
  total, so their errors pull in opposite directions; cousins inherit that from their
  parents), so the square root of the summed variances is a safe, slightly wide,
  standard error;
* **a difference or ratio of numbers from independent measurements** (two releases, or two
  tables of one release): variances add; ratios use the delta method.

Post-processing also rounds, so each interval is widened by half a unit on each side of
the integers it is built from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from publishing.catalog import PublishedCell

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A published or derived value with its 95% interval and standard error."""

    value: float
    low: float
    high: float
    std_error: float

    @property
    def spans_zero(self) -> bool:
        """Whether the interval holds zero (for a change: no clear change)."""
        return self.low <= 0 <= self.high


def of_cell(cell: PublishedCell) -> Estimate:
    """A cell as published, its interval unchanged."""
    se = cell.std_error if cell.std_error is not None else (cell.high - cell.low) / (2 * Z95)
    return Estimate(float(cell.value), float(cell.low), float(cell.high), se)


def total(cells: Iterable[PublishedCell]) -> Estimate:
    """The sum of cells of one release (see the module's note on its standard error)."""
    chosen = list(cells)
    if len(chosen) == 1:
        return of_cell(chosen[0])
    value = float(sum(c.value for c in chosen))
    se = math.sqrt(sum(of_cell(c).std_error ** 2 for c in chosen))
    half = Z95 * se + 0.5
    return Estimate(value, max(0.0, value - half), value + half, se)


def difference(new: Estimate, old: Estimate) -> Estimate:
    """``new - old`` for independent measurements."""
    se = math.hypot(new.std_error, old.std_error)
    value = new.value - old.value
    return Estimate(value, value - Z95 * se - 0.5, value + Z95 * se + 0.5, se)


def ratio(numerator: Estimate, denominator: Estimate) -> Estimate | None:
    """``numerator / denominator`` for independent measurements, by the delta method; None
    when the denominator is not clearly above zero (the ratio would mean nothing)."""
    if denominator.value <= 0 or denominator.low <= 0:
        return None
    value = numerator.value / denominator.value
    se = math.hypot(
        numerator.std_error / denominator.value, value * denominator.std_error / denominator.value
    )
    return Estimate(value, max(0.0, value - Z95 * se), value + Z95 * se, se)


def percent_change(new: Estimate, old: Estimate) -> Estimate | None:
    """The change from ``old`` to ``new`` in percent, or None when ``old`` is not clearly
    above zero."""
    quotient = ratio(new, old)
    if quotient is None:
        return None
    return Estimate(
        100 * (quotient.value - 1),
        100 * (quotient.low - 1),
        100 * (quotient.high - 1),
        100 * quotient.std_error,
    )


def scaled(estimate: Estimate, factor: float) -> Estimate:
    """The estimate times a known constant (a rate per 1,000 residents, say)."""
    return Estimate(
        estimate.value * factor,
        estimate.low * factor,
        estimate.high * factor,
        estimate.std_error * factor,
    )
