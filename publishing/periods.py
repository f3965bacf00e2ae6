"""Quarters as people read them: "October to December 2025" beside the code "2025Q4", and
the last day a quarter's data run to."""

from __future__ import annotations

import calendar
from datetime import date

from publishing.i18n import _, long_date, month_name


def quarter_words(period: str) -> str:
    """``2025Q4`` -> ``October to December 2025``."""
    return quarters_words(period, period)


def quarters_words(first: str, last: str) -> str:
    """``2025Q1``, ``2025Q2`` -> ``January to June 2025``: the months from one quarter's
    start to another's end (the year written once when it is the same)."""
    start, end = month_name(3 * int(first[5]) - 2), month_name(3 * int(last[5]))
    if first[:4] == last[:4]:
        return _("{start} to {end} {year}").format(start=start, end=end, year=last[:4])
    return _("{start} {first_year} to {end} {year}").format(
        start=start, first_year=first[:4], end=end, year=last[:4]
    )


def quarter_between(period: str) -> str:
    """``2025Q4`` -> ``between October and December 2025``, inside a sentence."""
    year, number = int(period[:4]), int(period[5])
    return _("between {start} and {end} {year}").format(
        start=month_name(3 * number - 2), end=month_name(3 * number), year=year
    )


def quarter_end(period: str) -> date:
    """The last day of a quarter (``2025Q4`` -> 31 December 2025)."""
    year, number = int(period[:4]), int(period[5])
    month = 3 * number
    return date(year, month, calendar.monthrange(year, month)[1])


def day_words(day: date) -> str:
    """``31 December 2025`` (``31 de diciembre de 2025``)."""
    return long_date(day)
