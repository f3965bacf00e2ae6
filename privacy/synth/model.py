"""The expected intensity of each kind of record per period and beat, and its allocation.

Incidents follow ``exp(scale * propensity) x seasonality x days x effects``, where ``scale`` is
solved for so that the expected share of incidents in the top 5% of beats hits the target.
Stops follow the same propensity less steeply, with a yearly decline; force follows stops,
tilted towards crime and by a district factor. Effects are exact multipliers on these
intensities, so ratios between member and comparison beats carry the true effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy.synth.focus import FocusArea
from privacy.synth.geography import Geography
from privacy.synth.timeline import Timeline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TOP_BEAT_FRACTION = 0.05
TARGET_TOP_SHARE = 0.5
INCIDENT_SEASONALITY = 0.15
STOP_SEASONALITY = 0.05
STOP_ANNUAL_FACTOR = 0.90  # stops fall by 10% a year
STOP_CRIME_ELASTICITY = 0.5  # stops concentrate where crime is, less steeply
FORCE_CRIME_ELASTICITY = 0.3  # force, per stop, leans further towards high-crime beats


@dataclass(frozen=True, eq=False)
class Intensities:
    """Expected relative counts per period x beat for each kind of record."""

    scale: float
    incidents: FloatArray
    stops: FloatArray
    force: FloatArray


def n_top_beats(n_beats: int, fraction: float = TOP_BEAT_FRACTION) -> int:
    """How many beats make up the top ``fraction`` of beats (at least one)."""
    return max(1, round(fraction * n_beats))


def top_share(per_beat: npt.ArrayLike, fraction: float = TOP_BEAT_FRACTION) -> float:
    """The share of the total held by the top ``fraction`` of beats."""
    values = np.sort(np.asarray(per_beat, dtype=np.float64))[::-1]
    total = float(values.sum())
    if total <= 0:
        return 0.0
    return float(values[: n_top_beats(len(values), fraction)].sum() / total)


def effect_matrix(
    timeline: Timeline, n_beats: int, areas: tuple[FocusArea, ...], kind: str
) -> FloatArray:
    """Multipliers per period x beat: members and buffers after each area's start."""
    effects = np.ones((len(timeline.periods), n_beats))
    for area in areas:
        after = timeline.after(area.start)
        if area.end is not None:
            after &= ~timeline.after(area.end)
        spec = area.spec
        member, buffer = (
            (spec.crime_effect, spec.buffer_crime_effect)
            if kind == "incidents"
            else (spec.stop_effect, spec.buffer_stop_effect)
        )
        effects[np.ix_(after, np.array(area.members, dtype=np.int64))] *= member
        effects[np.ix_(after, np.array(area.buffer, dtype=np.int64))] *= buffer
    return effects


def _incident_shape(timeline: Timeline) -> FloatArray:
    return timeline.seasonality(INCIDENT_SEASONALITY) * timeline.days


def calibrate_scale(propensity: FloatArray, time_effects: FloatArray) -> float:
    """Solve for the propensity scale whose expected top-5% share is the target.

    ``time_effects`` (periods x beats) is everything in the intensity but the beat weight.
    The share grows with the scale, so a bisection finds it.
    """
    exposure = time_effects.sum(axis=0)
    centred = propensity - propensity.max()

    def share(scale: float) -> float:
        return top_share(np.exp(scale * centred) * exposure)

    low, high = 0.0, 10.0
    if share(high) < TARGET_TOP_SHARE:
        return high
    for _ in range(60):
        mid = (low + high) / 2
        if share(mid) < TARGET_TOP_SHARE:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def build_intensities(
    geo: Geography, timeline: Timeline, areas: tuple[FocusArea, ...]
) -> Intensities:
    """The expected relative counts of incidents, stops and force per period and beat."""
    centred = geo.propensity - geo.propensity.max()
    crime_time = _incident_shape(timeline)[:, None] * effect_matrix(
        timeline, geo.n_beats, areas, "incidents"
    )
    scale = calibrate_scale(geo.propensity, crime_time)
    incidents = crime_time * np.exp(scale * centred)[None, :]
    stop_time = (
        timeline.seasonality(STOP_SEASONALITY) * timeline.trend(STOP_ANNUAL_FACTOR) * timeline.days
    )
    stops = (
        stop_time[:, None]
        * effect_matrix(timeline, geo.n_beats, areas, "stops")
        * np.exp(STOP_CRIME_ELASTICITY * scale * centred)[None, :]
    )
    force_tilt = (
        np.exp(FORCE_CRIME_ELASTICITY * scale * centred) * geo.force_factor[geo.beat_district]
    )
    force = stops * force_tilt[None, :]
    return Intensities(scale=scale, incidents=incidents, stops=stops, force=force)


def allocate(rng: np.random.Generator, intensity: FloatArray, total: int) -> IntArray:
    """Split exactly ``total`` records over the cells of ``intensity`` (multinomial)."""
    p = intensity.ravel() / intensity.sum()
    counts = rng.multinomial(total, p)
    return np.asarray(counts, dtype=np.int64).reshape(intensity.shape)


def expected_top_share(intensity: FloatArray) -> float:
    """The expected top-5% share of beats for an intensity matrix (periods x beats)."""
    return top_share(intensity.sum(axis=0))


def annual_decline() -> float:
    """The citywide fractional decline of stop volumes per year (before focus effects)."""
    return round(1 - STOP_ANNUAL_FACTOR, 10)


def realised_top_share(counts: IntArray) -> float:
    """The realised top-5% share from allocated counts (periods x beats)."""
    return top_share(counts.sum(axis=0))
