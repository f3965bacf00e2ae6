"""Release periods: a quarter such as ``2025Q3``, its window and its months."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

# ASCII digits only: \d would take other scripts' digits (full-width ones, say), which
# int() reads as the same year while the text differs: two spellings of one quarter.
_QUARTER = re.compile(r"([0-9]{4})Q([1-4])", re.ASCII)
# The years a department's records and releases can fall in.
FIRST_YEAR, LAST_YEAR = 1900, 2999


class PeriodError(ValueError):
    """A period that is not a quarter such as 2025Q3."""


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter of local time."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2025Q3`` -> Quarter(2025, 3)."""
        match = _QUARTER.fullmatch(text.strip().upper())
        if not match:
            raise PeriodError(f"{text[:40]!r} is not a quarter; write it like 2025Q3")
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PeriodError(
                f"{text.strip()!r}: a quarter's year is between {FIRST_YEAR} and {LAST_YEAR}"
            )
        return cls(year, int(match[2]))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        """The quarter a day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def next(self) -> Quarter:
        """The quarter after this one."""
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> datetime:
        """The first moment of the quarter (local time)."""
        return datetime(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> datetime:
        """The first moment after the quarter."""
        if self.number == 4:
            return datetime(self.year + 1, 1, 1)
        return datetime(self.year, 3 * self.number + 1, 1)

    @property
    def months(self) -> tuple[str, ...]:
        """The quarter's months as ``YYYY-MM``."""
        first = 3 * self.number - 2
        return tuple(f"{self.year}-{m:02d}" for m in range(first, first + 3))
