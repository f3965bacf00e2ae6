"""Totals of released cells over sets of beats and months, across releases.

Cells of different releases have independent noise; cells of one release that are not
nested in one another are never positively correlated (see :mod:`publishing.estimates`).
So adding the published variances gives a safe standard error for any such total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date

from publishing.catalog import Catalog
from publishing.estimates import Z95, Estimate, of_cell


def months_released(catalog: Catalog) -> list[str]:
    """Every month (YYYY-MM) of every released quarter, in order."""
    months = []
    for period in catalog.periods:
        year, quarter = int(period[:4]), int(period[5])
        months += [f"{year}-{3 * (quarter - 1) + m:02d}" for m in (1, 2, 3)]
    return months


WINDOW_MONTHS = 12  # released months on each side of a focus area's start


def before_and_after(
    catalog: Catalog,
    start: date,
    *,
    span: int = WINDOW_MONTHS,
) -> tuple[list[str], list[str]]:
    """Up to ``span`` released months wholly before ``start`` and from its first whole month
    on (a month that ``start`` falls inside is in neither)."""
    months = months_released(catalog)
    first_after = (
        f"{start.year}-{start.month:02d}"
        if start.day == 1
        else (f"{start.year + start.month // 12}-{start.month % 12 + 1:02d}")
    )
    before = [m for m in months if m < f"{start.year}-{start.month:02d}"][-span:]
    after = [m for m in months if m >= first_after][:span]
    return before, after


def beats_total(
    catalog: Catalog,
    table: str,
    beats: Sequence[str],
    months: Iterable[str],
    **where: str | Sequence[str],
) -> Estimate | None:
    """The released count of ``table`` over ``beats`` and ``months`` (summed over any other
    dimension, from the cells' unbiased estimates), or None when a month has no release."""
    wanted = set(months)
    value, variance, found = 0.0, 0.0, set()
    for period in catalog.periods:
        released = catalog.table(period, table)
        if released is None:
            continue
        in_period = sorted(wanted & set(released.values_of("month")))
        if not in_period:
            continue
        for cell in released.where(beat=beats, month=in_period, **where):
            value += cell.unbiased
            variance += of_cell(cell).std_error ** 2
        found.update(in_period)
    if found != wanted:
        return None
    se = math.sqrt(variance)
    return Estimate(value, value - Z95 * se, value + Z95 * se, se)
