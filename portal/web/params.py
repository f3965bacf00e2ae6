"""Query parameters of the dashboards: checked, with an answer that says what is wrong.

A parameter that is malformed is a 400 (``period=2025-3``), and so is a district the site
does not have (``district=Central``: the message lists the districts, codes and names); a
period that has no release is a 404 (``period=1999Q1``).
"""

from __future__ import annotations

import re

from litestar.exceptions import NotFoundException, ValidationException

from publishing.catalog import Catalog
from publishing.codes import AREA_CODE

PERIOD = re.compile(r"^\d{4}Q[1-4]$")
# The same rule ingest applies to every area code (publishing.codes).
CODE = AREA_CODE


def chosen_period(catalog: Catalog, period: str | None) -> str:
    """The period asked for, or the latest with a release."""
    if not catalog.periods:
        raise NotFoundException("nothing has been released yet: run `portal release build`")
    if period is None or period == "":
        return catalog.periods[-1]
    if not PERIOD.match(period):
        raise ValidationException(f"period must look like 2025Q3, not {period[:40]!r}")
    if period not in catalog.current:
        raise NotFoundException(
            f"there is no release for {period}; released periods: {', '.join(catalog.periods)}"
        )
    return period


def chosen_district(catalog: Catalog, district: str | None) -> str | None:
    """The district asked for (by code), or None for the whole city."""
    if district is None or district == "":
        return None
    if not CODE.match(district):
        raise ValidationException(
            f"district must be a district code such as "
            f"{_first_district(catalog)!r}, not {district[:40]!r}"
        )
    districts = catalog.areas_at("district")
    if district not in {a.code for a in districts}:
        named = [a.code for a in districts if a.name.casefold() == district.casefold()]
        hint = f" (the district named {district!r} is {named[0]!r})" if named else ""
        raise ValidationException(
            f"there is no district {district!r}{hint}; districts: "
            + ", ".join(f"{a.code} ({a.name})" for a in districts)
        )
    return district


def _first_district(catalog: Catalog) -> str:
    districts = catalog.areas_at("district")
    return districts[0].code if districts else "d1"
