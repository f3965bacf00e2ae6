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

    def excess(shift: float) -> float:
        return float(np.clip(values - shift, 0.0, caps).sum()) - total

    # The sum falls as the shift grows: from sum(caps) (or more) to 0 across these bounds.
    low, high = float((values - caps).min()) - 1.0, float(values.max()) + 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, abs(low), abs(high)):
            break
    capped: Floats = np.clip(values - (low + high) / 2, 0.0, caps)
    return capped


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
