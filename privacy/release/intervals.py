"""Honest 95% intervals for published values, from the known noise distribution.

A published value is the consistent least-squares estimate (linear in the noisy
measurements, unbiased) turned into a non-negative integer that keeps its parent's total.
The linear step's error does not depend on the data: it is the estimator applied to the
noise alone. So its distribution is simulated exactly, from the discrete Gaussian or
discrete Laplace noise OpenDP draws, with no data and no budget involved; the half-width
``h`` of a cell is the 95% quantile of its absolute error, pooled over the cells whose
error variance is the same (they are placed alike in the hierarchy).

A cell's interval is every integer within ``h`` of its estimate, cut at zero and widened,
where needed, to hold the published value. For an integer truth ``k`` the interval holds
``k`` exactly when the estimate's error is at most ``h``, so it covers at least 95% of the
time whatever rounding and non-negativity then did (checked in tests over thousands of
simulated releases). Simulating around the published values instead, which was tried
first, was dishonest near zero: a cell whose true count was 5 was covered 82% of the time.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from privacy.release.apart import Apart
from privacy.release.hierarchy import Estimator, Workspace

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
TAIL_SCALES = 12
LEVEL = 0.95
DRAWS = 1000  # at least; more when a class of alike cells is small (see half_widths)
CLASS_SAMPLES = 4000  # pooled draws wanted for each class of alike cells
POOLED_SAMPLES = 64_000  # pooled draws wanted for a class, at most (whole cells' draws)
# The simulation's arithmetic rounds (in single precision, by about one part in ten
# million): a quantile that is a whole number (a cell measured once has its integer noise
# as its error) can come out a step below it, and its intervals would lose an integer at
# each end. A half-width is widened by this fraction, which can only widen an interval,
# and only where a bound lies that near an integer.
HALF_WIDTH_SLACK = 1e-5
MAX_SAMPLES = 12_000_000  # cells x draws: bounds the simulation's time and memory
CHUNK = 250
SIMULATION_SEED = 20251  # the simulation involves no data, so a fixed seed is safe
GUIDE_BINS = 2**16  # see NoiseSampler.draw


@dataclass(frozen=True)
class NoiseSampler:
    """Draws of a discrete Gaussian or discrete Laplace noise of a given scale, exact to
    double precision: its probabilities over +-12 scales, beyond which the mass is below
    1e-30."""

    support: Ints
    probabilities: Floats

    @staticmethod
    @lru_cache(maxsize=256)  # a release has a dozen scales; each sampler keeps its tables
    def of(mechanism: str, scale: float) -> NoiseSampler:
        """The sampler for OpenDP's mechanism of that name and scale."""
        reach = max(1, math.ceil(TAIL_SCALES * scale))
        support = np.arange(-reach, reach + 1, dtype=np.int64)
        if mechanism == "gaussian":
            weights = np.exp(-(support.astype(np.float64) ** 2) / (2 * scale * scale))
        elif mechanism == "laplace":
            weights = np.exp(-np.abs(support).astype(np.float64) / scale)
        else:
            raise ValueError(f"unknown mechanism {mechanism!r}")
        return NoiseSampler(support, weights / weights.sum())

    @staticmethod
    @lru_cache(maxsize=1)  # one for every unmeasured level, so its tables are built once
    def none() -> NoiseSampler:
        """No noise: for a level that is added up to but not measured."""
        return NoiseSampler(np.zeros(1, dtype=np.int64), np.ones(1))

    @property
    def variance(self) -> float:
        """The noise's exact variance (a little under scale squared for a small scale)."""
        return float(np.sum(self.probabilities * self.support.astype(np.float64) ** 2))

    @property
    def float_type(self) -> type[np.floating[Any]]:
        """The narrowest float type that holds every value exactly: single precision, up
        to a scale of about a million."""
        return np.float32 if self.support[-1] < 2**24 else np.float64

    def draw(self, rng: np.random.Generator, out: NDArray[np.floating[Any]]) -> None:
        """Fill ``out`` with noise, by inverting the cumulative distribution.

        The top 16 bits of a uniform pick one of 65,536 equal bins; a bin that lies within
        one value's share of [0, 1) settles the draw at once, and the few that straddle two
        values are settled by a full-precision uniform within the bin. That is the plain
        inversion (``searchsorted`` of a uniform), draw for draw in distribution, at a third
        of its cost: the draws were half of the intervals' simulation."""
        cumulative, guide = self._inverse
        bins = rng.integers(0, GUIDE_BINS, size=out.shape, dtype=np.uint16)
        np.take(guide.astype(out.dtype, copy=False), bins, out=out)
        straddling = np.isnan(out)
        if straddling.any():
            within = (bins[straddling] + rng.random(int(straddling.sum()))) / GUIDE_BINS
            out[straddling] = self.support[
                np.searchsorted(cumulative, within, side="right").clip(0, len(self.support) - 1)
            ]

    @property
    def _inverse(self) -> tuple[Floats, NDArray[np.floating[Any]]]:
        """The cumulative distribution, and for each bin of [0, 1) the value every uniform
        in it maps to (in :attr:`float_type`), or NaN where the bin holds a step of the
        distribution. Built once and kept without a lock (two threads that build it at
        once keep equal tables), so that a child forked while another thread builds one
        cannot wait on that thread's lock for ever."""
        tables = self.__dict__.get("_tables")
        if tables is None:
            tables = self.__dict__["_tables"] = self._built_inverse()
        return tables

    def _built_inverse(self) -> tuple[Floats, NDArray[np.floating[Any]]]:
        cumulative = np.cumsum(self.probabilities)
        cumulative[-1] = 1.0
        # Bin b is [b / B, (b + 1) / B). The value its lowest uniform maps to is the number
        # of steps at or below b / B, and that of its highest the number below (b + 1) / B.
        if len(cumulative) <= GUIDE_BINS:
            # Counted from each step's bin (the scaling by B = 2**16 is exact): the same
            # as searching every bin's edges, for a sixth of the cost.
            scaled = cumulative * GUIDE_BINS
            first = _steps_up_to(np.ceil(scaled))
            last = _steps_up_to(np.floor(scaled))
        else:  # more steps than bins (a scale of thousands): searching costs less
            edges = np.arange(GUIDE_BINS + 1, dtype=np.float64) / GUIDE_BINS
            first = np.searchsorted(cumulative, edges[:-1], side="right")
            last = np.searchsorted(cumulative, np.nextafter(edges[1:], 0.0), side="right")
        top = len(self.support) - 1
        values = self.support[first.clip(0, top)].astype(self.float_type)
        guide = np.where(first == last, values, np.nan).astype(self.float_type)
        return cumulative, guide


def _steps_up_to(bins: Floats) -> NDArray[np.int64]:
    """For each bin b of [0, 1), how many of ``bins`` (steps placed in bins, sorted) are at
    most b."""
    placed = np.bincount(bins.astype(np.int64), minlength=GUIDE_BINS + 1)
    counted: NDArray[np.int64] = np.cumsum(placed[:GUIDE_BINS])
    return counted


class Calibrations(Protocol):
    """Where simulated half-widths are remembered, by the SHA-256 of what they depend on."""

    def get(self, key: str, nodes: int) -> Floats | None:
        """The half-widths remembered under ``key`` (``nodes`` of them), or None."""

    def put(self, key: str, half: Floats, draws: int) -> None:
        """Remember ``half``, simulated with ``draws`` draws, under ``key``."""


class InProcess:
    """Calibrations remembered for the life of the process (the last 16 shapes): every
    quarter of a policy has the same shape, and the demo releases twelve in one process."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._remembered: dict[str, Floats] = {}

    def get(self, key: str, nodes: int) -> Floats | None:
        found = self._remembered.get(key)
        return found if found is not None and found.shape == (nodes,) else None

    def put(self, key: str, half: Floats, draws: int) -> None:
        if len(self._remembered) >= self.size:
            self._remembered.pop(next(iter(self._remembered)))
        self._remembered[key] = half

    def clear(self) -> None:
        """Forget everything (as a new process would start)."""
        self._remembered.clear()


IN_PROCESS = InProcess()


def half_widths(
    estimator: Estimator,
    samplers: Sequence[NoiseSampler],
    *,
    draws: int | None = None,
    seed: int = SIMULATION_SEED,
    remembered: Calibrations = IN_PROCESS,
) -> Floats:
    """Each node's 95% half-width: the 95% quantile of the estimate's absolute error.

    Cells placed alike (equal error variance) are pooled; the number of draws is chosen so
    that the smallest such class still has ``CLASS_SAMPLES`` draws, within ``MAX_SAMPLES``.

    The result depends only on the hierarchy's shape and the noise, never on data, and the
    seed is fixed; so it is simulated once per shape and then looked up in ``remembered``
    (the process's memory by default; the release engine also keeps it in the internal
    store, so that each quarter's release, a process of its own, need not simulate)."""
    return HalfWidths(estimator, samplers, draws=draws, seed=seed, remembered=remembered).result()


class HalfWidths:
    """:func:`half_widths`, looked up at once and, when not remembered, simulated: here when
    the result is asked for, or (``apart``) in a forked child started at once, so that
    this process's work until then (a release's count) goes on beside it undisturbed."""

    def __init__(
        self,
        estimator: Estimator,
        samplers: Sequence[NoiseSampler],
        *,
        draws: int | None = None,
        seed: int = SIMULATION_SEED,
        remembered: Calibrations = IN_PROCESS,
        apart: bool = False,
    ) -> None:
        h = estimator.hierarchy
        if draws is None:
            smallest = int(np.bincount(_classes(estimator)).min()) if h.size else 1
            draws = max(
                DRAWS, min(math.ceil(CLASS_SAMPLES / smallest), MAX_SAMPLES // max(h.size, 1))
            )
        self.key = hashlib.sha256(
            b"".join(
                np.ascontiguousarray(a).tobytes()
                for a in (
                    h.group_parent,
                    h.group_start,
                    h.group_stop,
                    estimator.variance,
                    *h.cells,
                    *(s.probabilities for s in samplers),
                )
            )
            + f"{draws}:{seed}:{_float_type(samplers).__name__}".encode()
        ).hexdigest()
        self.draws, self.remembered = draws, remembered
        self._half = remembered.get(self.key, h.size)
        self._simulation: Apart | None = None
        if self._half is None:
            compute = partial(_simulate, estimator, samplers, draws, seed)
            self._simulation = Apart(compute, h.size, fork=apart)

    def cancel(self) -> None:
        """Stop a simulation started apart, unused (the release it was for failed)."""
        if self._simulation is not None:
            self._simulation.cancel()

    def result(self) -> Floats:
        """The half-widths (a copy), remembered under :attr:`key` once simulated."""
        if self._half is None:
            assert self._simulation is not None
            self._half = self._simulation.result()
            self._simulation = None
            self.remembered.put(self.key, self._half, self.draws)
        return self._half.copy()


def _simulate(
    estimator: Estimator, samplers: Sequence[NoiseSampler], draws: int, seed: int
) -> Floats:
    rng = np.random.default_rng(seed)
    cells = estimator.hierarchy.cells
    # Cells placed alike have the same error variance: their errors are pooled for a sharper
    # quantile, those of enough of a class's cells to give it POOLED_SAMPLES (a large class
    # has far more draws than that, which cost memory and time and sharpen nothing the
    # smallest class, with the fewest, does not limit).
    classes = _classes(estimator)
    order = np.argsort(classes, kind="stable")
    bounds = np.searchsorted(classes[order], np.arange(int(classes.max(initial=-1)) + 2))
    enough = math.ceil(POOLED_SAMPLES / draws)
    members = [order[start:stop] for start, stop in itertools.pairwise(bounds)]
    pooled_members = [m[:enough] for m in members]
    kept = np.concatenate(pooled_members) if pooled_members else order
    errors = np.empty((len(kept), draws), dtype=np.float32)
    # Single precision where it holds every noise value exactly: the error of a sum of
    # thousands of terms is then off by a few parts in ten million (HALF_WIDTH_SLACK covers
    # that), and the simulation costs a third less.
    dtype = _float_type(samplers)
    noise = [np.empty((len(c), CHUNK), dtype=dtype) for c in cells]
    work = Workspace(estimator, (CHUNK,), dtype)
    for start in range(0, draws, CHUNK):
        width = min(CHUNK, draws - start)
        if width < CHUNK:  # the last batch
            noise = [n[:, :width] for n in noise]
            work = Workspace(estimator, (width,), dtype)
        for values, sampler in zip(noise, samplers, strict=True):
            sampler.draw(rng, values)
        np.abs(estimator.estimate(noise, work)[kept], out=errors[:, start : start + width])
    half = np.empty(estimator.hierarchy.size)
    at = 0
    for everyone, pooled_ones in zip(members, pooled_members, strict=True):
        pooled = errors[at : at + len(pooled_ones)].ravel()
        at += len(pooled_ones)
        # The 'higher' 95% quantile: the smallest sample with at least 95% at or below it.
        rank = min(pooled.size - 1, math.ceil(LEVEL * pooled.size) - 1)
        pooled.partition(rank)  # in place: the class's rows of errors are not read again
        half[everyone] = float(pooled[rank]) * (1.0 + HALF_WIDTH_SLACK)
    return half


def _float_type(samplers: Sequence[NoiseSampler]) -> type[np.floating[Any]]:
    """The float type the simulation works in: exact for every sampler's values."""
    wide = any(s.float_type is np.float64 for s in samplers)
    return np.float64 if wide else np.float32


def _classes(estimator: Estimator) -> Ints:
    """Each node's class: nodes with the same error variance are placed alike."""
    classes: Ints = np.unique(np.round(estimator.variance, 6), return_inverse=True)[1]
    return classes


def intervals(estimate: Floats, half: Floats, published: Ints) -> tuple[Ints, Ints]:
    """Per-cell 95% intervals ``(low, high)``: the integers within ``half`` of the estimate,
    cut at zero and widened to hold ``published``."""
    low = np.maximum(np.ceil(estimate - half), 0)
    high = np.floor(estimate + half)
    low = np.minimum(low, published)
    high = np.maximum(np.maximum(high, published), low)
    return low.astype(np.int64), high.astype(np.int64)
