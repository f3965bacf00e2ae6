"""Post-processing building blocks: agree on margins, then non-negative integers that add up.

All of this works on noisy values only, so it is free under differential privacy. The
release engine combines these steps: the least-squares projection makes a table agree with
a margin, and the top-down rounding turns a hierarchy into non-negative integers in which
every child level adds up exactly to its parent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def combine_estimates(estimates: Sequence[Floats], variances: Sequence[float]) -> Floats:
    """The inverse-variance weighted mean of several unbiased estimates of one vector: the
    least-squares estimate when their errors are independent."""
    weights = np.array([1.0 / v for v in variances])
    stacked = np.vstack([np.asarray(e, dtype=np.float64) for e in estimates])
    combined: Floats = (weights[:, None] * stacked).sum(axis=0) / weights.sum()
    return combined


def project_to_margin(values: Floats, groups: Sequence[int] | NDArray[np.int64],
                      margin: Floats) -> Floats:
    """The closest vector (least squares, equal weights) to ``values`` whose sums per group
    equal ``margin``: each group's difference is spread evenly over its cells."""
    values = np.asarray(values, dtype=np.float64)
    group = np.asarray(groups, dtype=np.int64)
    sums = np.bincount(group, weights=values, minlength=len(margin))
    sizes = np.bincount(group, minlength=len(margin))
    if np.any(sizes == 0):
        raise ValueError("every group of the margin needs at least one cell")
    adjusted: Floats = values + ((np.asarray(margin) - sums) / sizes)[group]
    return adjusted


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


def round_hierarchy(parent_total: float, children: Floats,
                    grandchildren: Sequence[Floats] | None = None) -> tuple[int, Ints, list[Ints]]:
    """Top-down integers for a two- or three-level hierarchy (city > districts > beats):
    the parent is rounded first, then each level is made to add up to the level above."""
    parent = round(max(0.0, parent_total))
    child_ints = round_with_total(np.asarray(children, dtype=np.float64), parent)
    grand_ints = [round_with_total(np.asarray(g, dtype=np.float64), int(t))
                  for g, t in zip(grandchildren or [], child_ints, strict=True)]
    return parent, child_ints, grand_ints
