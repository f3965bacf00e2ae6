"""Fast text for CSV cells: ids, keys, timestamps, coordinates and vocabulary codes.

Lookup tables turn integer arrays into strings with one fancy index, which is what lets the
generator write several hundred thousand rows a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from operator import add

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]


def table(values: Sequence[str]) -> ObjArray:
    """An object array of strings, for lookups by code index."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def lookup(strings: ObjArray, codes: IntArray) -> list[str]:
    """The strings at ``codes``, as a list."""
    result: list[str] = strings[codes].tolist()
    return result


def serials(prefix: str, first: int, count: int, width: int) -> list[str]:
    """Consecutive ids such as ``S00000001``."""
    pattern = f"{prefix}%0{width}d"
    return [pattern % i for i in range(first, first + count)]


def keys(prefix: str, ids: IntArray, width: int) -> list[str]:
    """Keys such as ``P0001234`` for integer ids."""
    pattern = f"{prefix}%0{width}d"
    return [pattern % i for i in ids.tolist()]


class Clock:
    """Formats (day offset, second of day) pairs as ``YYYY-MM-DDTHH:MM:SS``."""

    def __init__(self) -> None:
        self._times = table(
            [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
        )

    def format(self, first_day: date, days: int, day: IntArray, second: IntArray) -> list[str]:
        """Timestamps for rows at ``day`` days after ``first_day`` and ``second`` of that day."""
        dates = table([(first_day + timedelta(days=d)).isoformat() for d in range(days)])
        return list(map(add, lookup(dates, day), lookup(self._times, second)))


class Coordinates:
    """Formats micro-degree integers in a fixed range as decimal degrees with 6 decimals."""

    def __init__(self, low_micro: int, high_micro: int) -> None:
        self._low = low_micro
        self._strings = table([f"{m / 1e6:.6f}" for m in range(low_micro, high_micro + 1)])

    def format(self, micro: IntArray, missing: npt.NDArray[np.bool_]) -> list[str]:
        """Decimal strings for ``micro``, empty where ``missing``."""
        strings = self._strings[micro - self._low]
        strings[missing] = ""
        result: list[str] = strings.tolist()
        return result
