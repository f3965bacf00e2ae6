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


def _grow(geo: Geography, centre: int, size: int, excluded: set[int]) -> list[int]:
    """The hottest allowed beat near ``centre``, grown by its hottest allowed edge neighbours
    near ``centre`` (near: sharing an edge or a corner with it)."""
    window = ({centre, *geo.queen_neighbours(centre)}) - excluded
    if not window:
        return []
    grown = [max(sorted(window), key=lambda b: float(geo.propensity[b]))]
    while len(grown) < size:
        frontier = {n for m in grown for n in geo.rook_neighbours(m)} & window
        frontier -= set(grown)
        if not frontier:
            break
        grown.append(max(sorted(frontier), key=lambda b: float(geo.propensity[b])))
    return grown


def _matched(
    geo: Geography, member_sets: list[list[int]], sizes: list[int], excluded: set[int]
) -> list[list[int]]:
    """Comparison beats matched to each focus area's members on crime propensity.

    All members of all focus areas, hottest first, each take the allowed beat closest to them
    in propensity (so no focus area takes every hot beat before the next gets a turn); then
    each focus area's further beats (when it wants more than its members) are matched to its
    members' mean propensity.
    """
    h = geo.propensity
    wants = [(float(h[m]), i) for i, members in enumerate(member_sets) for m in members]
    wants.sort(key=lambda pair: (-pair[0], pair[1]))
    for i, (members, size) in enumerate(zip(member_sets, sizes, strict=True)):
        wants += [(float(np.mean(h[members])), i)] * max(0, size - len(members))
    chosen: list[list[int]] = [[] for _ in member_sets]
    taken = set(excluded)
    for target, i in wants:
        allowed = [b for b in range(geo.n_beats) if b not in taken]
        if len(chosen[i]) >= sizes[i] or not allowed:
            continue
        best = min(allowed, key=lambda b: (abs(float(h[b]) - target), b))
        chosen[i].append(best)
        taken.add(best)
    return chosen


def select_focus_areas(geo: Geography, starts: tuple[date, ...]) -> tuple[FocusArea, ...]:
    """Place one focus area on each focus hot spot, with comparisons and buffers.

    Members are the hot spot's hottest beats and buffers every beat touching a member.
    Comparison beats are matched to the members on crime propensity (the twin hot spots
    supply beats as hot as the members) among beats that are neither members nor buffers of
    any focus area, so they are never adjacent to members; no beat compares for two areas.
    """
    member_sets = [
        _grow(geo, geo.hotspots[i], spec.n_members, set()) for i, spec in enumerate(FOCUS_SPECS)
    ]
    buffer_sets = []
    for members in member_sets:
        around = {n for m in members for n in geo.queen_neighbours(m)} - set(members)
        buffer_sets.append(sorted(around))
    excluded = {b for s in member_sets + buffer_sets for b in s}
    comparison_sets = _matched(geo, member_sets, [s.n_comparison for s in FOCUS_SPECS], excluded)
    areas = []
    for spec, members, buffers, comparison, start in zip(
        FOCUS_SPECS, member_sets, buffer_sets, comparison_sets, starts, strict=True
    ):
        district = geo.district_names[int(geo.beat_district[members[0]])]
        areas.append(
            FocusArea(
                spec=spec,
                name=f"{district} {spec.label}",
                members=tuple(sorted(members)),
                comparison=tuple(sorted(comparison)),
                buffer=tuple(buffers),
                start=start,
            )
        )
    return tuple(areas)


def focus_rows(geo: Geography, areas: tuple[FocusArea, ...]) -> list[list[str]]:
    """The rows of ``focus_areas.csv``."""

    def codes(beats: tuple[int, ...]) -> str:
        return ";".join(geo.beat_codes[b] for b in beats)

    return [
        [
            area.spec.code,
            area.name,
            codes(area.members),
            codes(area.comparison),
            codes(area.buffer),
            area.start.isoformat(),
            area.end.isoformat() if area.end else "",
        ]
        for area in areas
    ]
