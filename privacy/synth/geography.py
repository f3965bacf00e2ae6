"""The synthetic city's geography: a grid of beats grouped into districts.

Beats are rectangles on a regular lon/lat grid, so beats tile their district and districts
tile the city exactly. Each beat has a population and a log-scale crime propensity made of
spatial noise plus a few hot spots, which is what concentrates crime in a handful of beats.
Corners are kept as integer micro-degrees so that shared edges are identical strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy.schema import POPULATION_GROUPS
from publishing.vocabularies import US_RACE

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CITY_CODE = "city"
CITY_NAME = "Riverton"
DISTRICT_NAMES = (
    "Northgate",
    "Riverside",
    "Central",
    "Eastport",
    "Westfield",
    "Southbank",
    "Harbor",
    "Hillcrest",
)
DISTRICT_COLS, DISTRICT_ROWS = 4, 2  # districts across and down
BEAT_COLS, BEAT_ROWS = 2, 5  # beats across and down inside a district
GRID_COLS, GRID_ROWS = DISTRICT_COLS * BEAT_COLS, DISTRICT_ROWS * BEAT_ROWS
WEST_MICRO, NORTH_MICRO = -93_330_000, 45_070_000  # north-west corner, micro-degrees
BEAT_WIDTH_MICRO, BEAT_HEIGHT_MICRO = 25_000, 18_000  # about 2 km by 2 km

MEAN_BEAT_POPULATION = 6_000
# City-wide race mix of residents who are stopped, in vocabulary order (the known codes).
BASE_RACE_MIX = (0.08, 0.30, 0.22, 0.35, 0.05)
# Two hot spots for the focus areas, then their twins of like strength for comparison beats.
HOTSPOT_AMPLITUDES = (2.4, 2.2, 2.4, 2.2)
HOTSPOT_RADIUS = 0.9  # in beats
NOISE_SD = 0.45
HOTSPOT_DAMPING = 0.8


@dataclass(frozen=True, eq=False)
class Geography:
    """Districts and beats with their grid cells, populations and crime propensities."""

    district_codes: tuple[str, ...]
    district_names: tuple[str, ...]
    beat_codes: tuple[str, ...]
    beat_names: tuple[str, ...]
    beat_district: IntArray  # district index of each beat
    beat_col: IntArray  # grid column, 0 at the west edge
    beat_row: IntArray  # grid row, 0 at the north edge
    population: IntArray
    propensity: FloatArray  # log-scale crime propensity of each beat
    hotspots: tuple[int, ...]  # beat indices of the hot-spot centres: focus ones, then twins
    race_mix: FloatArray  # districts x known races: who lives in (and is stopped in) each
    force_factor: FloatArray  # per district: how readily force is used there

    @property
    def n_beats(self) -> int:
        """The number of beats."""
        return len(self.beat_codes)

    def beat_bounds_micro(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """West, south, east and north edges of every beat, in integer micro-degrees."""
        west = WEST_MICRO + self.beat_col * BEAT_WIDTH_MICRO
        north = NORTH_MICRO - self.beat_row * BEAT_HEIGHT_MICRO
        return west, north - BEAT_HEIGHT_MICRO, west + BEAT_WIDTH_MICRO, north

    def queen_neighbours(self, beat: int) -> list[int]:
        """Beats sharing an edge or a corner with ``beat``."""
        dc = np.abs(self.beat_col - self.beat_col[beat])
        dr = np.abs(self.beat_row - self.beat_row[beat])
        near = (np.maximum(dc, dr) == 1).nonzero()[0]
        return [int(b) for b in near]

    def rook_neighbours(self, beat: int) -> list[int]:
        """Beats sharing an edge with ``beat``."""
        dc = np.abs(self.beat_col - self.beat_col[beat])
        dr = np.abs(self.beat_row - self.beat_row[beat])
        return [int(b) for b in ((dc + dr) == 1).nonzero()[0]]


def rectangle_geometry(west: int, south: int, east: int, north: int) -> str:
    """A GeoJSON Polygon (counter-clockwise closed ring) for a rectangle in micro-degrees."""
    corners = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    ring = [[lng / 1e6, lat / 1e6] for lng, lat in corners]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


def _chebyshev(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def _place_hotspots(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Hot-spot cells away from the edge, spaced so that focus areas (a hot spot and its
    neighbours), their buffers (one more ring) and the twins' comparison beats never touch:
    the focus hot spots at least 5 cells apart, the twins 4 from those and 3 from each other.
    """
    while True:
        cells = [
            (int(rng.integers(1, GRID_COLS - 1)), int(rng.integers(1, GRID_ROWS - 1)))
            for _ in HOTSPOT_AMPLITUDES
        ]
        focus, twins = cells[:2], cells[2:]
        if (
            _chebyshev(focus[0], focus[1]) >= 5
            and all(_chebyshev(tw, f) >= 4 for tw in twins for f in focus)
            and _chebyshev(twins[0], twins[1]) >= 3
        ):
            return cells


def build_geography(rng: np.random.Generator) -> Geography:
    """Draw the city's beats, populations, hot spots and district profiles."""
    codes: list[str] = []
    names: list[str] = []
    district: list[int] = []
    cols: list[int] = []
    rows: list[int] = []
    for d in range(DISTRICT_COLS * DISTRICT_ROWS):
        d_col, d_row = d % DISTRICT_COLS, d // DISTRICT_COLS
        for k in range(BEAT_COLS * BEAT_ROWS):
            codes.append(f"d{d + 1}b{k + 1:02d}")
            names.append(f"{DISTRICT_NAMES[d]} {k + 1}")
            district.append(d)
            cols.append(d_col * BEAT_COLS + k % BEAT_COLS)
            rows.append(d_row * BEAT_ROWS + k // BEAT_COLS)
    n = len(codes)
    col = np.array(cols, dtype=np.int64)
    row = np.array(rows, dtype=np.int64)
    sd = 0.35
    drawn = np.round(MEAN_BEAT_POPULATION * rng.lognormal(-sd * sd / 2, sd, n))
    population = np.maximum(drawn, 500).astype(np.int64)
    cells = _place_hotspots(rng)
    bumps = np.zeros(n)
    nearness = np.zeros(n)  # 1 at a hot spot's centre, falling off around it
    for amplitude, (hc, hr) in zip(HOTSPOT_AMPLITUDES, cells, strict=True):
        shape = np.exp(-((col - hc) ** 2 + (row - hr) ** 2) / (2 * HOTSPOT_RADIUS**2))
        bumps += amplitude * shape
        nearness = np.maximum(nearness, shape)
    # Hot spots are reliably hot: the noise is damped near their centres, so that hot spots
    # of like amplitude have like crime and the twins can supply matched comparison beats.
    noise = NOISE_SD * rng.standard_normal(n) * (1 - HOTSPOT_DAMPING * nearness)
    propensity = noise + bumps + 0.3 * np.log(population / population.mean())
    centres = tuple(int(np.flatnonzero((col == hc) & (row == hr))[0]) for hc, hr in cells)
    n_districts = DISTRICT_COLS * DISTRICT_ROWS
    race_mix = rng.dirichlet(np.array(BASE_RACE_MIX) * 25, size=n_districts)
    force_factor = rng.lognormal(0.0, 0.3, n_districts)
    return Geography(
        district_codes=tuple(f"d{d + 1}" for d in range(n_districts)),
        district_names=DISTRICT_NAMES[:n_districts],
        beat_codes=tuple(codes),
        beat_names=tuple(names),
        beat_district=np.array(district, dtype=np.int64),
        beat_col=col,
        beat_row=row,
        population=population,
        propensity=propensity,
        hotspots=centres,
        race_mix=race_mix,
        force_factor=force_factor,
    )


def residents_by_race(geo: Geography) -> IntArray:
    """Each beat's residents by race (beats x the population groups of the areas' schema):
    its population split by its district's mix; the groups of other vocabularies are 0."""
    mix = geo.race_mix[geo.beat_district]  # beats x known races, in vocabulary order
    known = np.rint(geo.population[:, None] * mix).astype(np.int64)
    extra = len(POPULATION_GROUPS) - known.shape[1]
    return np.concatenate([known, np.zeros((known.shape[0], extra), np.int64)], axis=1)


def _groups(residents: IntArray) -> list[str]:
    """Residents by group as the CSV's cells: blank for a group the city does not use."""
    return [
        str(int(n)) if code in US_RACE.codes else ""
        for code, n in zip(POPULATION_GROUPS, residents, strict=True)
    ]


def area_rows(geo: Geography) -> list[list[str]]:
    """The rows of ``areas.csv``: the city, then its districts, then their beats, each with
    its residents and its residents by race."""
    west, south, east, north = geo.beat_bounds_micro()
    city_pop = int(geo.population.sum())
    city_box = (int(west.min()), int(south.min()), int(east.max()), int(north.max()))
    groups = residents_by_race(geo)
    rows = [
        [
            CITY_CODE,
            "city",
            CITY_NAME,
            "",
            str(city_pop),
            rectangle_geometry(*city_box),
            *_groups(groups.sum(axis=0)),
        ]
    ]
    for d, code in enumerate(geo.district_codes):
        members = geo.beat_district == d
        box = (
            int(west[members].min()),
            int(south[members].min()),
            int(east[members].max()),
            int(north[members].max()),
        )
        pop = int(geo.population[members].sum())
        rows.append(
            [
                code,
                "district",
                geo.district_names[d],
                CITY_CODE,
                str(pop),
                rectangle_geometry(*box),
                *_groups(groups[members].sum(axis=0)),
            ]
        )
    for b, code in enumerate(geo.beat_codes):
        box = (int(west[b]), int(south[b]), int(east[b]), int(north[b]))
        parent = geo.district_codes[int(geo.beat_district[b])]
        rows.append(
            [
                code,
                "beat",
                geo.beat_names[b],
                parent,
                str(int(geo.population[b])),
                rectangle_geometry(*box),
                *_groups(groups[b]),
            ]
        )
    return rows
