"""Coordinates in a projection (a state plane, a national grid) turned into degrees.

An export that gives each record's place as easting and northing in a projected coordinate
system declares the system, and ingest stores longitude and latitude in WGS 84 degrees, as
every other source does. The transformation is PROJ's, through pyproj. A point outside the
area its system is defined for is refused: it means a wrong projection or a bad value, and
stored as degrees it would be a place somewhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

# How far, in degrees, a point may lie outside its system's declared area of use: a city at
# the edge of a state plane zone still reads, a point in another state does not.
AREA_MARGIN = 0.5
WGS84 = "EPSG:4326"


class ProjectionError(ValueError):
    """A projection that cannot be used, with what to write instead."""


@dataclass(frozen=True)
class Projection:
    """A projected coordinate system and the box, in degrees, where its points may lie."""

    code: str  # as the mapping names it: "EPSG:2249"
    title: str  # as PROJ names it: "NAD83 / Massachusetts Mainland (ftUS)"
    west: float
    south: float
    east: float
    north: float

    def degrees(
        self, eastings: Sequence[float], northings: Sequence[float]
    ) -> tuple[list[float], list[float]]:
        """Longitudes and latitudes of the points, in WGS 84 degrees."""
        lngs, lats = _to_wgs84(self.code).transform(list(eastings), list(northings))
        return list(lngs), list(lats)

    def point_problem(self, lng: float, lat: float) -> str | None:
        """Why a point, in degrees, cannot be this system's, or None when it can."""
        if self.outside(lng, lat):
            return (
                f"not a point of {self.code} ({self.title}): it falls outside the area the "
                "system covers; check the projection and that the easting comes first"
            )
        return None

    def outside(self, lng: float, lat: float) -> bool:
        """Whether a point, in degrees, lies outside the system's area (or is not finite)."""
        if not (math.isfinite(lng) and math.isfinite(lat)):
            return True
        return not (
            self.west - AREA_MARGIN <= lng <= self.east + AREA_MARGIN
            and self.south - AREA_MARGIN <= lat <= self.north + AREA_MARGIN
        )


@lru_cache(maxsize=16)
def projection(code: str) -> Projection:
    """The projected coordinate system named ``code`` (``EPSG:2249``); raises
    :class:`ProjectionError` for one PROJ does not know or that is not projected."""
    try:
        crs = CRS.from_user_input(code)
    except CRSError:
        raise ProjectionError(
            f"projection {code!r} is not known; name it by its EPSG code, such as "
            "'EPSG:2249' (Massachusetts state plane, US feet)"
        ) from None
    if not crs.is_projected:
        raise ProjectionError(
            f"projection {code!r} ({crs.name}) is not a projected system: coordinates in "
            "degrees are read as lat and lng without a projection"
        )
    area = crs.area_of_use
    if area is None:
        raise ProjectionError(
            f"projection {code!r} ({crs.name}) declares no area of use, so a point cannot be "
            "checked against it; name the system by an EPSG code"
        )
    return Projection(code, crs.name, area.west, area.south, area.east, area.north)


@lru_cache(maxsize=16)
def _to_wgs84(code: str) -> Transformer:
    # always_xy: easting then northing in, longitude then latitude out, whatever the
    # systems' own axis order.
    return Transformer.from_crs(code, WGS84, always_xy=True)
