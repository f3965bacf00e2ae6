"""Small canonical-layout files for tests, written row by row so each test shows its data."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from privacy.schema import fields_of

STOP_HEADER = [f.name for f in fields_of("stops")]


def stop_row(n: int, **overrides: str) -> dict[str, str]:
    """A valid canonical stop with id ``S{n}``; keyword arguments replace fields."""
    row = {
        "source_id": f"S{n:06d}",
        "occurred_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:15:00",
        "district": "d1",
        "beat": "d1b1" if n % 2 else "d1b2",
        "stop_type": "vehicular",
        "reason": "traffic_violation",
        "subject_race": ("black", "white", "hispanic", "unknown")[n % 4],
        "subject_self_defined_ethnicity": "unknown",
        "subject_sex": "male" if n % 3 else "female",
        "subject_age_band": "25_34",
        "frisk_performed": "no",
        "search_conducted": "yes" if n % 10 == 0 else "no",
        "contraband_found": "no",
        "outcome": ("none", "warning", "citation")[n % 3],
        "use_of_force": "no",
        "person_key": f"P{n % 50:04d}",
        "officer_key": f"O{n % 7:03d}",
        "lat": "44.950000",
        "lng": "-93.250000",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    header: list[str],
    rows: Iterable[dict[str, str] | list[str]],
    *,
    encoding: str = "utf-8",
) -> Path:
    """Write rows (dicts in header order, or raw lists for ragged rows) to ``path``."""
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return path


def write_stops(path: Path, rows: Iterable[dict[str, str] | list[str]]) -> Path:
    """A canonical stops file."""
    return write_csv(path, STOP_HEADER, rows)


# The synthetic city's areas also give residents by race (blank here: none declared).
RACE_COLUMNS = [
    f"population_{group}"
    for group in ("asian_pacific_islander", "black", "hispanic", "white", "other")
]
AREAS_HEADER = ["code", "level", "name", "parent", "population", "boundary", *RACE_COLUMNS]
SQUARE = (
    '{"type": "Polygon", "coordinates": '
    "[[[-93.3, 44.9], [-93.2, 44.9], [-93.2, 45.0], [-93.3, 44.9]]]}"
)


def small_city_rows() -> list[dict[str, str]]:
    """A city with one district of two beats."""
    return [
        {
            "code": "city",
            "level": "city",
            "name": "Testville",
            "parent": "",
            "population": "3000",
            "boundary": "",
        },
        {
            "code": "d1",
            "level": "district",
            "name": "District 1",
            "parent": "city",
            "population": "3000",
            "boundary": SQUARE,
        },
        {
            "code": "d1b1",
            "level": "beat",
            "name": "Beat 1",
            "parent": "d1",
            "population": "1000",
            "boundary": SQUARE,
        },
        {
            "code": "d1b2",
            "level": "beat",
            "name": "Beat 2",
            "parent": "d1",
            "population": "2000",
            "boundary": "",
        },
    ]


def two_districts(path: Path) -> Path:
    """An areas file of Testville: two districts, North (d1) and South (d2), no beats."""
    areas = [
        {"code": "city", "level": "city", "name": "Testville", "parent": ""},
        {"code": "d1", "level": "district", "name": "North", "parent": "city"},
        {"code": "d2", "level": "district", "name": "South", "parent": "city"},
    ]
    return write_csv(path, AREAS_HEADER, [{**a, "population": "", "boundary": ""} for a in areas])
