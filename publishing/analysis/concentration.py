"""Crime concentration: how much of the crime falls in the busiest beats.

From a quarter's released beat totals (every offence, every month of the quarter; beats not
recorded are left out) the share of incidents in the top 1%, 5% and 10% of beats and the
Lorenz curve. Intervals are simulated from the known noise (the published standard errors):
each draw re-ranks the beats, so the intervals include the chance that noise changes which
beats are on top. Noise lifts some beats into the top, so top shares of noisy counts lean
high; the simulation shows by how much, and the share and its interval are the "basic"
bootstrap ones (reflected about the estimate), moved back by that lean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from publishing.catalog import Catalog
from publishing.estimates import of_cell

TOP = (1, 5, 10)
SIMULATIONS = 2000
SEED = 1987  # released numbers only; a fixed seed keeps pages stable


@dataclass(frozen=True)
class TopShare:
    """The share of incidents in the top ``percent`` of beats."""

    percent: int
    beats: int
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class Concentration:
    """A quarter's concentration of crime across beats."""

    period: str
    beats: int
    incidents: float
    top: tuple[TopShare, ...]
    lorenz: tuple[tuple[float, float], ...]  # (share of beats, share of incidents)


def beat_totals(
    catalog: Catalog,
    period: str,
    table: str = "incidents_by_month_beat_offense",
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]] | None:
    """Beats, their released totals for the quarter, and the totals' standard errors."""
    released = catalog.table(period, table)
    if released is None:
        return None
    beats = [b for b in released.values_of("beat") if b != "unknown"]
    values, variances = np.zeros(len(beats)), np.zeros(len(beats))
    index = {b: i for i, b in enumerate(beats)}
    for cell in released.where(beat=beats):
        i = index[cell.key[released.dimensions.index("beat")]]
        values[i] += cell.unbiased
        variances[i] += of_cell(cell).std_error ** 2
    return beats, values, np.sqrt(variances)


def top_shares(values: NDArray[np.float64], counts: tuple[int, ...]) -> NDArray[np.float64]:
    """Per row of ``values`` (draws x beats): the share held by the top ``k`` beats, for
    each ``k`` in ``counts``."""
    ordered = -np.sort(-np.atleast_2d(values), axis=1)
    totals = ordered.sum(axis=1)
    totals[totals <= 0] = np.nan
    cumulative = np.cumsum(ordered, axis=1)
    return np.stack([cumulative[:, k - 1] / totals for k in counts], axis=1)


def basic_bootstrap(
    point: NDArray[np.float64], simulated: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Shares corrected for their lean, with 95% intervals, by the basic bootstrap: the
    simulations show how far a share computed from noisy counts falls from the share it was
    simulated from, and the estimate and its interval are moved back by that much (the
    estimate by the median lean, the interval reflected about the estimate). The estimate
    shown is the corrected one: the uncorrected share can fall outside its own interval."""
    q_low, q_median, q_high = np.nanquantile(simulated, [0.025, 0.5, 0.975], axis=0)
    return (
        np.clip(2 * point - q_median, 0, 1),
        np.clip(2 * point - q_high, 0, 1),
        np.clip(2 * point - q_low, 0, 1),
    )


def concentration(
    catalog: Catalog, period: str, *, simulations: int = SIMULATIONS, seed: int = SEED
) -> Concentration | None:
    """The quarter's concentration of incidents, with simulated intervals."""
    found = beat_totals(catalog, period)
    if found is None or not found[0] or found[1].sum() <= 0:
        return None
    beats, values, sds = found
    counts = tuple(max(1, math.ceil(len(beats) * p / 100)) for p in TOP)
    point = top_shares(values, counts)[0]
    rng = np.random.default_rng(seed)
    draws = np.maximum(rng.normal(values, sds, size=(simulations, len(beats))), 0)
    share, low, high = basic_bootstrap(point, top_shares(draws, counts))
    ascending = np.sort(values)
    cumulative = np.concatenate([[0.0], np.cumsum(ascending)]) / ascending.sum()
    lorenz = tuple((i / len(beats), float(c)) for i, c in enumerate(cumulative))
    return Concentration(
        period,
        len(beats),
        float(values.sum()),
        tuple(
            TopShare(p, k, float(s), float(lo), float(hi))
            for p, k, s, lo, hi in zip(TOP, counts, share, low, high, strict=True)
        ),
        lorenz,
    )
