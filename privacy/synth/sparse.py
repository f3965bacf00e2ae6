"""A sparse department: the shape of a large real stop export, which the synthetic city
does not have.

The synthetic city is dense: a few districts, every code in use, every source sent. Real
departments that tried the portal were not: dozens of precincts of very unequal size, a
few large groups and several small ones, three of the six outcome codes, rare searches,
no incident or use-of-force file at all, and data that start in the middle of a quarter.
Estimates that are right on the city can lean or contradict each other on such data, so
the accuracy benchmark and the tests run this department beside the city.

It is written as a department would export it, not in the canonical layout: upper-case
codes, a month/day/year date and a separate time, precinct and sector columns, yes/no
flags, an outcome column that holds ``NO ACTION``, ``SUMMONS`` or ``ARREST``; the shipped
mapping ``sparse-stops`` reads it. Areas are written in the canonical layout
(``synthetic-areas`` reads them): the city, one district per precinct and one beat per
precinct's single sector, no finer.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from privacy.schema import POPULATION_GROUPS
from privacy.store.audit import utc_now
from publishing.profile import read_profile, write_profile
from publishing.vocabularies import US_RACE

PRECINCTS = 72
CITY_CODE = "sparse-city"
FIRST_DAY = date(2023, 3, 15)  # the first quarter is partial: a declared window, not a guess
LAST_DAY = date(2024, 12, 31)

# The export's race codes, the canonical group each maps to (see sparse-stops), and the
# group's share of the department's stops: two large groups, one mid-sized, several small.
RACES = (
    ("BLACK", 0.50),
    ("WHITE HISPANIC", 0.20),
    ("BLACK HISPANIC", 0.08),
    ("WHITE", 0.13),
    ("ASIAN / PACIFIC ISLANDER", 0.05),
    ("AMERICAN INDIAN/ALASKAN NATIVE", 0.01),
    ("(null)", 0.03),
)
SEARCH_RATE = (0.07, 0.06, 0.06, 0.035, 0.03, 0.04, 0.02)  # rare, and unequal by group
HIT_RATE = (0.18, 0.22, 0.22, 0.30, 0.25, 0.25, 0.20)  # higher where searches are rarer
SUMMONS_RATE = 0.10
ARREST_RATE = 0.05  # without contraband; with it, most searches end in an arrest
ARREST_IF_FOUND = 0.70

HEADER = (
    "STOP_ID",
    "STOP_DATE",
    "STOP_TIME",
    "PCT",
    "SECTOR",
    "SUSPECT_RACE",
    "SUSPECT_SEX",
    "SUSPECT_AGE",
    "SEARCHED",
    "CONTRABAND",
    "OUTCOME",
)


@dataclass(frozen=True)
class SparseManifest:
    """The files a sparse department was written to, and the days its stops cover."""

    areas: Path
    stops: Path
    first_day: date
    last_day: date
    n_stops: int


def precinct_code(n: int) -> str:
    """Precinct ``n``'s code as the export writes it and as the areas declare it."""
    return f"{n:03d}"


def generate_sparse_department(
    out_dir: Path, *, stops: int = 400_000, seed: int = 2026
) -> SparseManifest:
    """Write the sparse department's areas and stops to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    precincts = [precinct_code(n) for n in range(1, PRECINCTS + 1)]
    # Very unequal precincts, and each precinct's own mix of groups around the city's.
    size = rng.lognormal(0.0, 0.9, PRECINCTS)
    size /= size.sum()
    base = np.array([share for _, share in RACES])
    mix = rng.dirichlet(base * 40, PRECINCTS)

    areas = out_dir / "areas.csv"
    with areas.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        # Residents by race are not declared: their columns (which synthetic-areas reads)
        # are blank.
        groups = [group for group in POPULATION_GROUPS if group in US_RACE.codes]
        blank = [""] * len(groups)
        writer.writerow(
            ["code", "level", "name", "parent", "population", "boundary"]
            + [f"population_{group}" for group in groups]
        )
        writer.writerow([CITY_CODE, "city", "Sparse City", "", "", "", *blank])
        for n, code in enumerate(precincts, start=1):
            population = int(size[n - 1] * 2_500_000)
            writer.writerow([code, "district", f"Precinct {n}", CITY_CODE, population, "", *blank])
            writer.writerow([f"{code}a", "beat", f"Precinct {n}, sector A", code, "", "", *blank])

    precinct = rng.choice(PRECINCTS, size=stops, p=size)
    cumulative = np.cumsum(mix, axis=1)
    race = (rng.random(stops)[:, None] > cumulative[precinct]).sum(axis=1)
    race = np.minimum(race, len(RACES) - 1)
    searched = rng.random(stops) < np.asarray(SEARCH_RATE)[race]
    found = searched & (rng.random(stops) < np.asarray(HIT_RATE)[race])
    draw = rng.random(stops)
    arrested = np.where(found, draw < ARREST_IF_FOUND, draw < ARREST_RATE)
    summons = ~arrested & (rng.random(stops) < SUMMONS_RATE)
    days = (LAST_DAY - FIRST_DAY).days + 1
    day = np.sort(rng.integers(0, days, stops))
    minute = rng.integers(0, 24 * 60, stops)
    sex = rng.choice(["MALE", "FEMALE", "(null)"], size=stops, p=[0.88, 0.10, 0.02])
    age = rng.integers(12, 80, stops)
    age_text = np.where(rng.random(stops) < 0.02, "(null)", age.astype(str))

    path = out_dir / "stops.csv"
    start = datetime.combine(FIRST_DAY, datetime.min.time())
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(stops):
            moment = start + timedelta(days=int(day[i]), minutes=int(minute[i]))
            code = precincts[precinct[i]]
            writer.writerow(
                (
                    f"{moment.year}-{i + 1:07d}",
                    moment.strftime("%m/%d/%Y"),
                    moment.strftime("%H:%M"),
                    code,
                    f"{code}A",
                    RACES[race[i]][0],
                    sex[i],
                    age_text[i],
                    "Y" if searched[i] else "N",
                    "Y" if found[i] else ("N" if searched[i] else ""),
                    "ARREST" if arrested[i] else ("SUMMONS" if summons[i] else "NO ACTION"),
                )
            )
    return SparseManifest(areas, path, FIRST_DAY, LAST_DAY, stops)


def ingest_sparse_department(internal: Engine, public: Engine, manifest: SparseManifest) -> None:
    """Ingest the sparse department's areas and stops, then declare in its profile the
    department's name and the days its stops cover (public facts a department states; the
    records are not read for them)."""
    from privacy.ingest import ingest_file, load_mapping  # ingest is heavier than synth

    ingest_file(internal, public, "areas", manifest.areas, load_mapping("synthetic-areas"))
    ingest_file(internal, public, "stops", manifest.stops, load_mapping("sparse-stops"))
    profile = read_profile(public)
    assert profile is not None  # the stops mapping declared what it records
    window = (manifest.first_day, manifest.last_day)
    declared = profile.declared("Sparse City Police Department", window)
    write_profile(public, declared, now=utc_now())
