"""Non-negative integers that add up: the last step of post-processing.

This works on noisy values only, so it is free under differential privacy. The release's
hierarchy (:mod:`privacy.release.hierarchy`) calls it top down, group by group, so that
every group of children adds up exactly to its parent's published integer.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def nonnegative_with_total(values: Floats, total: float) -> Floats:
    """The closest non-negative vector to ``values`` (least squares) that sums to ``total``:
    the Euclidean projection onto the scaled simplex."""
    values = np.asarray(values, dtype=np.float64)
    total = max(0.0, float(total))
    if values.size == 0 or total == 0.0:
        return np.zeros_like(values)  # the simplex of total 0 is the single point 0
    ordered = np.sort(values)[::-1]
    cumulative = np.cumsum(ordered) - total
    ranks = np.arange(1, values.size + 1)
    positive = ordered - cumulative / ranks > 0
    positive[0] = True  # exactly total > 0 for the first; rounding must not lose it
    last = int(np.nonzero(positive)[0][-1])
    threshold = cumulative[last] / (last + 1)
    projected: Floats = np.maximum(values - threshold, 0.0)
    return projected


def round_with_total(values: Floats, total: int) -> Ints:
    """Non-negative integers that sum exactly to ``total``, each within one of the closest
    non-negative real vector (largest remainders get the units left over)."""
    if total < 0:
        raise ValueError("a total of counts cannot be negative")
    real = nonnegative_with_total(values, total)
    floors = np.floor(real).astype(np.int64)
    short = int(total - floors.sum())
    if short:
        remainders = real - floors
        order = np.argsort(-remainders, kind="stable")
        floors[order[:short]] += 1
    return floors


def capped_with_total(values: Floats, total: float, caps: Floats) -> Floats:
    """The closest vector to ``values`` (least squares) with ``0 <= x <= caps`` that sums to
    ``total``: ``x = clip(values - t, 0, caps)`` for the one shift ``t`` that makes the sum
    right. Needs ``0 <= total <= sum(caps)``."""
    values = np.asarray(values, dtype=np.float64)
    caps = np.asarray(caps, dtype=np.float64)
    total = float(total)
    if total < 0 or total > caps.sum() + 1e-9 * max(1.0, total):
        raise ValueError(f"no vector within the caps sums to {total}")
    if values.size == 0:
        return np.zeros(0)

    # x(t) = clip(values - t, 0, caps) = (values - t)+ - (values - caps - t)+, so the sum
    # is S(t) = F(values, t) - F(values - caps, t) with F(a, t) = sum((a - t)+): falling,
    # and straight between the 2n points where a cell leaves its cap or reaches 0. S is
    # worked out at each of them at once; t is then read off the straight piece that holds
    # the total (where S is flat, every t of it gives the same vector).
    highs, lows = np.sort(values), np.sort(values - caps)
    points = np.sort(np.concatenate([lows, highs]))
    sums = _above(highs, points) - _above(lows, points)
    # The first point at or below the total (S falls as the points rise), and the one before.
    at = min(int(np.searchsorted(-sums, -total, side="left")), len(points) - 1)
    if at == 0 or sums[at] == sums[at - 1]:
        shift = float(points[at])
    else:
        slope = (sums[at - 1] - sums[at]) / (points[at] - points[at - 1])
        shift = float(points[at - 1] + (sums[at - 1] - total) / slope)
    capped: Floats = np.clip(values - shift, 0.0, caps)
    return capped


def _above(sorted_values: Floats, points: Floats) -> Floats:
    """``sum((sorted_values - t)+)`` for each ``t`` of ``points``."""
    after = np.searchsorted(sorted_values, points, side="right")
    tail = np.concatenate([np.cumsum(sorted_values[::-1])[::-1], [0.0]])
    summed: Floats = tail[after] - points * (len(sorted_values) - after)
    return summed


def round_with_total_capped(values: Floats, total: int, caps: Ints) -> Ints:
    """Non-negative integers at most ``caps`` that sum exactly to ``total``, each within one
    of the closest such real vector (largest remainders get the units left over, among
    those still below their cap). Needs ``total <= sum(caps)``."""
    if total < 0:
        raise ValueError("a total of counts cannot be negative")
    caps = np.asarray(caps, dtype=np.int64)
    real = np.minimum(capped_with_total(values, total, caps.astype(np.float64)), caps)
    floors = np.floor(real).astype(np.int64)
    short = int(total - floors.sum())
    if short:
        remainders = np.where(floors < caps, real - floors, -1.0)
        order = np.argsort(-remainders, kind="stable")
        floors[order[:short]] += 1
    return floors
