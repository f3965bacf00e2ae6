"""The declared areas as open data: the list every code in the tables refers to.

Areas are public reference data, the same for every release, and a department may rename
one or correct a boundary at any time: they are published beside the releases (``/areas.csv``,
``/areas.geojson``, ``/api/v1/areas``), current, not frozen into a release's files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import msgspec

from publishing.catalog import AREA_LEVELS, AreaInfo, Catalog
from publishing.csvfiles import TEXT, csv_bytes
from publishing.public_forms import area_record

COLUMNS = ("code", "level", "name", "parent_code", "population")


def listed(catalog: Catalog) -> list[AreaInfo]:
    """Every declared area: the city, then districts, then beats, each by code."""
    return [area for level in AREA_LEVELS for area in catalog.areas_at(level)]


def areas_csv(areas: Iterable[AreaInfo]) -> bytes:
    """The areas as UTF-8 CSV: code, level, name, parent_code, population."""
    return csv_bytes(
        COLUMNS,
        [TEXT, TEXT, TEXT, TEXT, "integer"],
        ([a.code, a.level, a.name, a.parent, a.population] for a in areas),
    )


def areas_geojson(areas: Iterable[AreaInfo]) -> bytes:
    """The areas with a boundary as a GeoJSON FeatureCollection (longitude, latitude in
    degrees), each feature's properties its code, level, name, parent and population."""
    features = [
        {
            "type": "Feature",
            "id": a.code,
            "properties": msgspec.structs.asdict(area_record(a)),
            "geometry": a.boundary,
        }
        for a in areas
        if a.boundary
    ]
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, sort_keys=True, separators=(",", ":")).encode("utf-8")
