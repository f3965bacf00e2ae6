"""Rows laid out in time: each period's allocated counts become chunks of beats and times.

Within a period the beat column is a shuffle of the allocated counts and the times are drawn
from an hour-of-day profile and sorted, so a file comes out in chronological order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy.synth.timeline import Period, Timeline, add_years

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Chunk:
    """A slice of the rows of one period: their beats and times."""

    period: Period
    first_row: int  # 1-based number of the chunk's first row in its file
    beat: IntArray
    day: IntArray  # days after the period's start
    second: IntArray  # second of the day
    elapsed: FloatArray  # fraction of the study window elapsed at each row, 0..1
    year: IntArray  # study year (0-based) of each row

    def __len__(self) -> int:
        return len(self.beat)


def iter_chunks(
    rng: np.random.Generator,
    counts: IntArray,
    timeline: Timeline,
    hours: FloatArray,
    chunk_rows: int,
) -> Iterator[Chunk]:
    """Chunks of at most ``chunk_rows`` rows, period by period, in time order.

    ``counts`` holds the rows allocated to each period (rows) and beat (columns).
    """
    total_days = (timeline.end - timeline.start).days
    anniversaries = []
    k = 1
    while (anniversary := add_years(timeline.start, k)) < timeline.end:
        anniversaries.append((anniversary - timeline.start).days)
        k += 1
    marks = np.array(anniversaries, dtype=np.int64)
    hour_p = hours / hours.sum()
    row = 1
    for p, period in enumerate(timeline.periods):
        n = int(counts[p].sum())
        if n == 0:
            continue
        beats = rng.permutation(np.repeat(np.arange(counts.shape[1]), counts[p]))
        day = rng.integers(0, period.days, n)
        second = rng.choice(24, size=n, p=hour_p) * 3600 + rng.integers(0, 3600, n)
        stamp = np.sort(day * 86_400 + second)
        offset = (period.start - timeline.start).days
        for lo in range(0, n, chunk_rows):
            part = stamp[lo : lo + chunk_rows]
            days = part // 86_400
            yield Chunk(
                period=period,
                first_row=row,
                beat=beats[lo : lo + chunk_rows],
                day=days,
                second=part % 86_400,
                elapsed=(offset + part / 86_400) / total_days,
                year=np.searchsorted(marks, offset + days, side="right").astype(np.int64),
            )
            row += len(part)
