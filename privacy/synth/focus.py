"""Focus areas: high-crime member beats, matched comparison beats and adjacent buffer beats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from privacy.synth.geography import Geography


@dataclass(frozen=True)
class FocusSpec:
    """What a focus area should look like, and its true effects after the intervention."""

    code: str
    label: str
    n_members: int
    n_comparison: int
    crime_effect: float  # multiplier on incidents in member beats
    stop_effect: float  # multiplier on stops in member beats
    buffer_crime_effect: float  # displacement: multiplier on incidents in buffer beats
    buffer_stop_effect: float


FOCUS_SPECS = (
    FocusSpec("fa1", "corridor", 3, 4, 0.75, 0.85, 1.05, 1.0),
    FocusSpec("fa2", "hot spots", 2, 3, 0.80, 0.90, 1.0, 1.0),
)


@dataclass(frozen=True)
class FocusArea:
    """A focus area as written to ``focus_areas.csv`` (beats as indices) with its true effects."""

    spec: FocusSpec
    name: str
    members: tuple[int, ...]
    comparison: tuple[int, ...]
    buffer: tuple[int, ...]
    start: date
    end: date | None = None


def _grow_members(geo: Geography, centre: int, size: int) -> list[int]:
    """The hottest beat near ``centre``, grown by its hottest edge neighbours near ``centre``."""
    window = {centre, *geo.queen_neighbours(centre)}
    members = [max(sorted(window), key=lambda b: float(geo.propensity[b]))]
    while len(members) < size:
        frontier = {n for m in members for n in geo.rook_neighbours(m)} & window
        frontier -= set(members)
        if not frontier:  # pragma: no cover - a 3x3 window always has rook neighbours left
            break
        members.append(max(sorted(frontier), key=lambda b: float(geo.propensity[b])))
    return members


def select_focus_areas(geo: Geography, starts: tuple[date, ...]) -> tuple[FocusArea, ...]:
    """Place one focus area on each of the strongest hot spots, with comparisons and buffers.

    Comparison beats are the beats whose crime propensity is closest to the members' mean
    among those that are neither members nor buffers of any focus area (so never adjacent to
    members) nor comparisons of an earlier focus area.
    """
    member_sets = [
        _grow_members(geo, geo.hotspots[i], spec.n_members) for i, spec in enumerate(FOCUS_SPECS)
    ]
    buffer_sets = []
    for members in member_sets:
        around = {n for m in members for n in geo.queen_neighbours(m)} - set(members)
        buffer_sets.append(sorted(around))
    excluded = {b for s in member_sets + buffer_sets for b in s}
    areas = []
    for spec, members, buffers, start in zip(
        FOCUS_SPECS, member_sets, buffer_sets, starts, strict=True
    ):
        target = float(np.mean(geo.propensity[members]))
        candidates = [b for b in range(geo.n_beats) if b not in excluded]
        candidates.sort(key=lambda b: (abs(float(geo.propensity[b]) - target), b))
        comparison = sorted(candidates[: spec.n_comparison])
        excluded.update(comparison)
        district = geo.district_names[int(geo.beat_district[members[0]])]
        areas.append(FocusArea(
            spec=spec,
            name=f"{district} {spec.label}",
            members=tuple(sorted(members)),
            comparison=tuple(comparison),
            buffer=tuple(buffers),
            start=start,
        ))
    return tuple(areas)


def focus_rows(geo: Geography, areas: tuple[FocusArea, ...]) -> list[list[str]]:
    """The rows of ``focus_areas.csv``."""

    def codes(beats: tuple[int, ...]) -> str:
        return ";".join(geo.beat_codes[b] for b in beats)

    return [
        [
            area.spec.code, area.name, codes(area.members), codes(area.comparison),
            codes(area.buffer), area.start.isoformat(),
            area.end.isoformat() if area.end else "",
        ]
        for area in areas
    ]
