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
