"""Released beat tables of simulated synthetic cities, without writing or ingesting files.

For checking the focus-area evaluation against the truth: many cities that share the
synthetic city's geography, focus areas and true effects, each with its own counts (drawn
from the same model as ``portal synth``: a multinomial over months x beats, offences by the
same mix) and its own privacy noise (OpenDP's, at the quarterly policy's scales, through the
release engine's own post-processing). Only the tables the evaluation reads are built.
Internal tooling for tests and benchmarks; nothing here is published.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from privacy import vocabulary as v
from privacy.release.aggregate import TableCounts, key_set
from privacy.release.noise import draw_all, plan_measurement
from privacy.release.parts import measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import Policy, load_policy
from privacy.release.postprocess import PostProcessor, release_hierarchy
from privacy.synth import tables as t
from privacy.synth.focus import select_focus_areas
from privacy.synth.geography import build_geography
from privacy.synth.model import allocate, build_intensities
from privacy.synth.timeline import build_timeline, intervention_starts
from publishing.catalog import AreaInfo, Catalog, FocusAreaInfo, ReleaseInfo
from publishing.releases import PublishedTable

IntArray = NDArray[np.int64]
TABLES = ("incidents_by_month_beat_offense", "stops_by_month_beat")
START = date(2023, 1, 1)


@dataclass(frozen=True)
class SimulatedCity:
    """A simulated city's released tables, and the true effects of its focus areas."""

    catalog: Catalog
    true_effects: dict[str, dict[str, float]]  # focus area -> outcome -> true change (ratio)


class CitySimulator:
    """Cities sharing one geography (``seed``), each with fresh counts and fresh noise."""

    def __init__(
        self,
        *,
        seed: int = 2025,
        years: int = 3,
        incidents: int = 150_000,
        stops: int = 300_000,
        policy: Policy | None = None,
    ) -> None:
        self.policy = policy or load_policy("quarterly")
        self.specs = [self.policy.table(name) for name in TABLES]
        geo_seed = np.random.SeedSequence(seed).spawn(4)[0]
        self.geo = build_geography(np.random.Generator(np.random.PCG64(geo_seed)))
        self.timeline = build_timeline(START, years)
        self.focus = select_focus_areas(self.geo, intervention_starts(START, years, 2))
        self.intensities = build_intensities(self.geo, self.timeline, self.focus)
        self.totals = {"incidents": incidents, "stops": stops}
        self.months = [f"{p.start:%Y-%m}" for p in self.timeline.periods]
        geo = self.geo
        self.areas = {
            "district": tuple(sorted(geo.district_codes)),
            "beat": tuple(sorted(geo.beat_codes)),
        }
        self.beat_district = {
            geo.beat_codes[b]: geo.district_codes[int(geo.beat_district[b])]
            for b in range(geo.n_beats)
        }
        self.offense_mix = np.asarray(t.OFFENSE_MIX, dtype=np.float64)
        self._processors: dict[str, PostProcessor] = {}

    def quarters(self) -> list[Quarter]:
        """The complete quarters of the study window."""
        found, quarter = [], Quarter.containing(START)
        while quarter.end <= datetime.combine(self.timeline.end, datetime.min.time()):
            found.append(quarter)
            quarter = quarter.next()
        return found

    def city(self, rng: np.random.Generator) -> SimulatedCity:
        """One city: counts, then a release of every quarter, read as the site reads it."""
        incidents = allocate(rng, self.intensities.incidents, self.totals["incidents"])
        stops = allocate(rng, self.intensities.stops, self.totals["stops"])
        offenses = np.stack([rng.multinomial(n, self.offense_mix) for n in incidents.ravel()])
        offenses = offenses.reshape(*incidents.shape, len(self.offense_mix))
        releases, tables = [], {}
        for quarter in self.quarters():
            release = ReleaseInfo(
                uuid.uuid4().hex,
                str(quarter),
                "simulated",
                1,
                "",
                "",
                {"rho": 0.0, "epsilon": 0.0, "delta": 0.0},
                "simulated",
                datetime(2026, 1, 1),
            )
            releases.append(release)
            tables[release.id] = self._release(quarter, offenses, stops)
        catalog = Catalog(
            "simulated",
            tuple(releases),
            self._area_info(),
            self._focus_info(),
            engine=None,  # type: ignore[arg-type]
        )
        catalog._tables.update(tables)
        return SimulatedCity(catalog, self._truth())

    def _release(
        self, quarter: Quarter, offenses: IntArray, stops: IntArray
    ) -> dict[str, PublishedTable]:
        index = {code: b for b, code in enumerate(self.geo.beat_codes)}
        month_index = {m: i for i, m in enumerate(self.months)}
        parts = []
        for spec in self.specs:
            keys = key_set(spec, quarter, self.areas)
            counts = []
            for key in keys:
                month, beat = month_index[key[0]], index.get(key[1])
                if beat is None:  # the unknown beat: the simulation records every beat
                    counts.append(0)
                elif spec.source == "incidents":
                    counts.append(int(offenses[month, beat, v.OFFENSE_CATEGORY.index(key[2])]))
                else:
                    counts.append(int(stops[month, beat]))
            parts += measured_parts(
                TableCounts(spec, tuple(keys), tuple(counts)),
                quarter,
                self.policy.unit,
                self.areas,
                self.beat_district,
            )
        planned = [
            plan_measurement(p.part, self.policy.budget, p.sensitivity, len(p.keys))
            if p.part.measured
            else None
            for p in parts
        ]
        signature = str(quarter.months)  # quarters differ only by their month names
        if signature not in self._processors:
            self._processors[signature] = PostProcessor(release_hierarchy(parts), parts, planned)
        processor = self._processors[signature]
        raw = draw_all(planned, [c.counts for c in parts])
        return {table.name: table for table in processor.tables(raw)}

    def _area_info(self) -> dict[str, AreaInfo]:
        areas = {
            code: AreaInfo(code, "district", code, "city", None, None)
            for code in self.areas["district"]
        }
        areas.update(
            {
                code: AreaInfo(code, "beat", code, self.beat_district[code], None, None)
                for code in self.areas["beat"]
            }
        )
        return areas

    def _focus_info(self) -> dict[str, FocusAreaInfo]:
        codes = self.geo.beat_codes
        return {
            area.spec.code: FocusAreaInfo(
                area.spec.code,
                area.name,
                area.start,
                area.end,
                {
                    "member": tuple(codes[b] for b in area.members),
                    "comparison": tuple(codes[b] for b in area.comparison),
                    "buffer": tuple(codes[b] for b in area.buffer),
                },
            )
            for area in self.focus
        }

    def _truth(self) -> dict[str, dict[str, float]]:
        return {
            area.spec.code: {"crime": area.spec.crime_effect, "stops": area.spec.stop_effect}
            for area in self.focus
        }
