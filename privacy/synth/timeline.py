"""The synthetic city's calendar: monthly periods, seasonality, trends and intervention dates."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

PEAK_MONTH = 7  # seasonality peaks in July
DAYS_PER_YEAR = 365.2425


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months`` calendar months, its day clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Return ``day`` moved by whole years (29 February becomes 28 February when needed)."""
    return add_months(day, 12 * years)


def next_quarter_start(day: date) -> date:
    """Return the first day of a calendar quarter on or after ``day``."""
    first = date(day.year, day.month, 1)
    if first == day and (day.month - 1) % 3 == 0:
        return day
    months_ahead = 3 - (day.month - 1) % 3
    return add_months(first, months_ahead)


@dataclass(frozen=True)
class Period:
    """A calendar month clipped to the study window: rows of one period are written together."""

    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        """The number of days in the period."""
        return (self.end - self.start).days


@dataclass(frozen=True, eq=False)
class Timeline:
    """The study window cut into calendar-month periods, with per-period model factors."""

    start: date
    end: date  # exclusive
    periods: tuple[Period, ...]

    @property
    def days(self) -> FloatArray:
        """Days per period."""
        return np.array([p.days for p in self.periods], dtype=np.float64)

    @property
    def month_of_year(self) -> npt.NDArray[np.int64]:
        """Calendar month (1..12) of each period."""
        return np.array([p.start.month for p in self.periods], dtype=np.int64)

    @property
    def mid_years(self) -> FloatArray:
        """Years from the study start to each period's midpoint."""
        mids = [((p.start - self.start).days + p.days / 2) / DAYS_PER_YEAR for p in self.periods]
        return np.array(mids, dtype=np.float64)

    def seasonality(self, amplitude: float) -> FloatArray:
        """A cosine seasonal factor per period, ``1 + amplitude`` at the July peak."""
        phase = 2 * math.pi * (self.month_of_year - PEAK_MONTH) / 12
        return 1 + amplitude * np.cos(phase)

    def trend(self, annual_factor: float) -> FloatArray:
        """A geometric trend per period: ``annual_factor`` per year from the study start."""
        return np.asarray(annual_factor**self.mid_years, dtype=np.float64)

    def after(self, day: date) -> npt.NDArray[np.bool_]:
        """Whether each period starts on or after ``day`` (interventions start on a month's 1st)."""
        return np.array([p.start >= day for p in self.periods], dtype=np.bool_)


def build_timeline(start: date, years: int) -> Timeline:
    """Cut ``[start, start + years)`` into calendar months clipped to the window."""
    end = add_years(start, years)
    periods: list[Period] = []
    cursor = start
    while cursor < end:
        month_end = add_months(date(cursor.year, cursor.month, 1), 1)
        periods.append(Period(cursor, min(month_end, end)))
        cursor = periods[-1].end
    return Timeline(start, end, tuple(periods))


def intervention_starts(start: date, years: int, count: int) -> tuple[date, ...]:
    """Intervention dates: the first quarter start at or after mid-study, then a quarter apart.

    A later focus area starts a quarter after the previous one when that leaves at least a
    quarter of after-period data; otherwise it starts on the same date.
    """
    end = add_years(start, years)
    first = next_quarter_start(add_months(start, 6 * years))
    dates = [first]
    for _ in range(1, count):
        candidate = add_months(dates[-1], 3)
        dates.append(candidate if candidate <= add_months(end, -3) else dates[-1])
    return tuple(dates)
