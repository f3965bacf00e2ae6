"""A deterministic, streaming synthetic city: reference data, records and the true effects.

:func:`generate_city` writes ``areas.csv``, ``focus_areas.csv``, ``stops.csv``,
``incidents.csv`` and ``force.csv`` in the canonical layout (see :mod:`privacy.schema`),
plus ``truth.json`` with the parameters and effects the city was generated with. The same
seed and parameters give byte-identical files; memory stays flat however many rows are asked
for, because records are generated and written a chunk at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from privacy.schema import fields_of
from privacy.synth import tables as t
from privacy.synth.chunks import iter_chunks
from privacy.synth.context import Context
from privacy.synth.focus import FOCUS_SPECS, focus_rows, select_focus_areas
from privacy.synth.geography import area_rows, build_geography
from privacy.synth.model import allocate, build_intensities
from privacy.synth.records import StopStats, force_columns, incident_columns, stop_columns
from privacy.synth.timeline import build_timeline, intervention_starts
from privacy.synth.truth import build_truth
from privacy.synth.writer import Progress, write_json, write_stream, write_table

__all__ = ["CityManifest", "Progress", "generate_city"]

DEFAULT_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class CityManifest:
    """The files a synthetic city was written to, and their row counts (header excluded)."""

    out_dir: Path
    areas: Path
    focus_areas: Path
    stops: Path
    incidents: Path
    force: Path
    truth: Path
    n_areas: int
    n_focus_areas: int
    n_stops: int
    n_incidents: int
    n_force: int


# The city's officers record race as they perceive it; nobody is asked to state theirs.
NOT_WRITTEN = ("subject_self_defined_ethnicity",)


def _header(kind: str) -> list[str]:
    return [f.name for f in fields_of(kind) if f.name not in NOT_WRITTEN]


def generate_city(
    out_dir: Path,
    *,
    seed: int = 2025,
    start: date = date(2023, 1, 1),
    years: int = 3,
    stops: int = 300_000,
    incidents: int = 150_000,
    force_events: int = 3_000,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> CityManifest:
    """Write a synthetic city's reference data, records and ``truth.json`` to ``out_dir``.

    Exactly ``stops``, ``incidents`` and ``force_events`` records are written, spread over
    ``years`` years from ``start``. ``progress(label, done, total)`` is called for each chunk
    of ``chunk_rows`` rows (labels ``stops``, ``incidents``, ``force``), and once with
    ``done == 0`` before each file's first chunk. Memory is bounded by ``chunk_rows`` and
    the largest month, not by the number of rows.
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    if min(stops, incidents, force_events) < 0:
        raise ValueError("record counts must not be negative")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geo_seed, stop_seed, incident_seed, force_seed = np.random.SeedSequence(seed).spawn(4)
    geo_rng = np.random.Generator(np.random.PCG64(geo_seed))
    geo = build_geography(geo_rng)
    timeline = build_timeline(start, years)
    focus = select_focus_areas(geo, intervention_starts(start, years, len(FOCUS_SPECS)))
    intensities = build_intensities(geo, timeline, focus)

    expected = stops * intensities.stops.sum(axis=0) / intensities.stops.sum()
    person_pool = np.maximum(20, np.round(t.PERSONS_PER_STOP * expected)).astype(np.int64)
    by_district = np.bincount(geo.beat_district, weights=expected)
    officer_pool = np.maximum(5, np.round(by_district / (years * t.STOPS_PER_OFFICER_YEAR)))
    ctx = Context(geo, person_pool, officer_pool.astype(np.int64), int(geo_rng.integers(2**62)))

    paths = {
        name: out_dir / f"{name}.csv"
        for name in ("areas", "focus_areas", "stops", "incidents", "force")
    }
    n_areas = write_table(paths["areas"], _header("areas"), area_rows(geo))
    n_focus = write_table(paths["focus_areas"], _header("focus-areas"), focus_rows(geo, focus))

    stop_rng = np.random.Generator(np.random.PCG64(stop_seed))
    stop_counts = allocate(stop_rng, intensities.stops, stops)
    stats = StopStats(years)
    n_stops = write_stream(
        paths["stops"],
        _header("stops"),
        (
            stop_columns(stop_rng, ctx, c, stats)
            for c in iter_chunks(stop_rng, stop_counts, timeline, t.STOP_HOURS, chunk_rows)
        ),
        label="stops",
        total=stops,
        progress=progress,
    )
    incident_rng = np.random.Generator(np.random.PCG64(incident_seed))
    incident_counts = allocate(incident_rng, intensities.incidents, incidents)
    n_incidents = write_stream(
        paths["incidents"],
        _header("incidents"),
        (
            incident_columns(incident_rng, ctx, c)
            for c in iter_chunks(
                incident_rng, incident_counts, timeline, t.INCIDENT_HOURS, chunk_rows
            )
        ),
        label="incidents",
        total=incidents,
        progress=progress,
    )
    force_rng = np.random.Generator(np.random.PCG64(force_seed))
    force_counts = allocate(force_rng, intensities.force, force_events)
    n_force = write_stream(
        paths["force"],
        _header("force"),
        (
            force_columns(force_rng, ctx, c)
            for c in iter_chunks(force_rng, force_counts, timeline, t.FORCE_HOURS, chunk_rows)
        ),
        label="force",
        total=force_events,
        progress=progress,
    )

    rows = {
        "areas": n_areas,
        "focus_areas": n_focus,
        "stops": n_stops,
        "incidents": n_incidents,
        "force": n_force,
    }
    truth = build_truth(
        seed=seed,
        parameters={
            "years": years,
            "stops": stops,
            "incidents": incidents,
            "force_events": force_events,
            "chunk_rows": chunk_rows,
        },
        geo=geo,
        timeline=timeline,
        areas=focus,
        intensities=intensities,
        counts={"stops": stop_counts, "incidents": incident_counts},
        stop_stats=stats,
        rows=rows,
    )
    truth_path = out_dir / "truth.json"
    write_json(truth_path, truth)
    return CityManifest(
        out_dir=out_dir,
        areas=paths["areas"],
        focus_areas=paths["focus_areas"],
        stops=paths["stops"],
        incidents=paths["incidents"],
        force=paths["force"],
        truth=truth_path,
        n_areas=n_areas,
        n_focus_areas=n_focus,
        n_stops=n_stops,
        n_incidents=n_incidents,
        n_force=n_force,
    )
