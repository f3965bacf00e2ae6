"""Vectorised sampling helpers: categorical draws by group, masks, hashing, heavy tails."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def cumulative(p: FloatArray) -> FloatArray:
    """Cumulative probabilities along the last axis, the last column exactly 1."""
    cdf = np.cumsum(p, axis=-1)
    cdf[..., -1] = 1.0
    return cdf


def draw_with_cdf(u: FloatArray, cdf: FloatArray) -> IntArray:
    """Category index for uniforms ``u`` given one cdf row per draw (n x k) or one row (k)."""
    if cdf.ndim == 1:
        codes: IntArray = np.searchsorted(cdf[:-1], u, side="right").astype(np.int64)
    else:
        codes = (u[:, None] >= cdf[:, :-1]).sum(axis=1).astype(np.int64)
    return codes


def draw(rng: np.random.Generator, p: FloatArray, n: int) -> IntArray:
    """``n`` draws from one categorical distribution."""
    return draw_with_cdf(rng.random(n), cumulative(p))


def draw_grouped(rng: np.random.Generator, table: FloatArray, groups: IntArray) -> IntArray:
    """One draw per row from ``table[groups[i]]`` (a groups x categories table)."""
    return draw_with_cdf(rng.random(len(groups)), cumulative(table)[groups])


def bernoulli(rng: np.random.Generator, p: FloatArray | float, n: int) -> BoolArray:
    """``n`` independent yes/no draws with probability ``p`` (scalar or per draw)."""
    return np.asarray(rng.random(n) < p, dtype=np.bool_)


def mask_unknown(rng: np.random.Generator, codes: IntArray, rate: float, unknown: int) -> IntArray:
    """Replace a share ``rate`` of ``codes`` with the ``unknown`` code."""
    return np.where(rng.random(len(codes)) < rate, unknown, codes)


def hash_uniform(ids: IntArray, salt: int) -> FloatArray:
    """A uniform in [0, 1) that depends only on (id, salt): splitmix64 of the id."""
    z = ids.astype(np.uint64) ^ np.uint64(salt)
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def heavy_index(rng: np.random.Generator, pools: IntArray, tail: float) -> IntArray:
    """An index into each pool, heavy-tailed: low indices are drawn far more often."""
    picks = np.floor(pools * rng.random(len(pools)) ** tail).astype(np.int64)
    return np.minimum(picks, pools - 1)
