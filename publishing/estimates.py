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

Sums are built from each cell's unbiased least-squares estimate (kept with every release
since public_0006), not from the rounded, non-negative integers shown for the cell; a
release that kept no estimates is summed from its integers, with the interval widened by
half a unit on each side. An estimate (and its interval) may dip below zero: that is what
makes it unbiased.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from publishing.releases import PublishedCell

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A published or derived value with its 95% interval and standard error.

    ``value`` is what is shown; ``center`` is what further figures are computed from. They
    differ for a single published cell only: it shows its published integer, and lends its
    unbiased estimate to sums, rates and changes."""

    value: float
    low: float
    high: float
    std_error: float
    center: float | None = None  # None: the value itself

    @property
    def unbiased(self) -> float:
        """The value to compute with."""
        return self.value if self.center is None else self.center

    @property
    def spans_zero(self) -> bool:
        """Whether the interval holds zero (for a change: no clear change)."""
        return self.low <= 0 <= self.high


def of_cell(cell: PublishedCell) -> Estimate:
    """A cell as published, its interval unchanged, its unbiased estimate kept for what is
    computed from it."""
    se = cell.std_error if cell.std_error is not None else (cell.ci_high - cell.ci_low) / (2 * Z95)
    return Estimate(float(cell.value), float(cell.ci_low), float(cell.ci_high), se, cell.unbiased)


def total(cells: Iterable[PublishedCell]) -> Estimate:
    """The sum of cells of one release (see the module's note on its standard error), from
    their unbiased estimates, not from their rounded integers: rounding to non-negative
    integers leans (it lifts the small cells and takes from the large ones), and a sum of
    many rounded cells leans by as much as their number. A single cell is shown as
    published."""
    chosen = list(cells)
    if len(chosen) == 1:
        return of_cell(chosen[0])
    value = math.fsum(c.unbiased for c in chosen)
    se = math.sqrt(sum(of_cell(c).std_error ** 2 for c in chosen))
    # Releases without estimates sum integers: their rounding widens the interval.
    half = Z95 * se + (0.5 if any(c.estimate is None and not c.structural for c in chosen) else 0.0)
    return Estimate(value, value - half, value + half, se)


def difference(new: Estimate, old: Estimate) -> Estimate:
    """``new - old`` for independent measurements."""
    se = math.hypot(new.std_error, old.std_error)
    value = new.unbiased - old.unbiased
    return Estimate(value, value - Z95 * se, value + Z95 * se, se)


def ratio(numerator: Estimate, denominator: Estimate) -> Estimate | None:
    """``numerator / denominator`` for independent measurements, by the delta method, from
    their unbiased values; None when the denominator is not clearly above zero (the ratio
    would mean nothing)."""
    bottom = denominator.unbiased
    if bottom <= 0 or denominator.low <= 0:
        return None
    value = numerator.unbiased / bottom
    se = math.hypot(numerator.std_error / bottom, value * denominator.std_error / bottom)
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
        None if estimate.center is None else estimate.center * factor,
    )


def added(estimates: Iterable[Estimate]) -> Estimate:
    """The sum of independent measurements (figures of different releases), from their
    unbiased values; the standard errors add in quadrature."""
    chosen = list(estimates)
    value = math.fsum(e.unbiased for e in chosen)
    se = math.sqrt(math.fsum(e.std_error**2 for e in chosen))
    return Estimate(value, value - Z95 * se, value + Z95 * se, se)
