"""Quarters as people read them: "October to December 2025" beside the code "2025Q4", and
the last day a quarter's data run to."""

from __future__ import annotations

import calendar
from datetime import date

MONTHS = tuple(calendar.month_name)[1:]


def quarter_words(period: str) -> str:
    """``2025Q4`` -> ``October to December 2025``."""
    year, number = int(period[:4]), int(period[5])
    first = MONTHS[3 * (number - 1)]
    last = MONTHS[3 * number - 1]
    return f"{first} to {last} {year}"


def quarter_between(period: str) -> str:
    """``2025Q4`` -> ``between October and December 2025``, inside a sentence."""
    year, number = int(period[:4]), int(period[5])
    return f"between {MONTHS[3 * (number - 1)]} and {MONTHS[3 * number - 1]} {year}"


def quarter_end(period: str) -> date:
    """The last day of a quarter (``2025Q4`` -> 31 December 2025)."""
    year, number = int(period[:4]), int(period[5])
    month = 3 * number
    return date(year, month, calendar.monthrange(year, month)[1])


def day_words(day: date) -> str:
    """``31 December 2025``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def department_name(profile_name: str | None, city: str | None) -> str:
    """The department's name: the profile's, else made from the city's ("Riverton Police
    Department"), unless the city already names a police area ("City of London Police
    area" is the force's own name)."""
    if profile_name:
        return profile_name
    if city is None:
        return "Police Department"
    return city if "police" in city.lower() else f"{city} Police Department"
