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
from publishing.i18n import _

PERIOD = re.compile(r"^\d{4}Q[1-4]$")
# The same rule ingest applies to every area code (publishing.codes).
CODE = AREA_CODE


def chosen_period(catalog: Catalog, period: str | None) -> str:
    """The period asked for, or the latest with a release."""
    if not catalog.periods:
        raise NotFoundException(_("nothing has been released yet: run `portal release build`"))
    if period is None or period == "":
        return catalog.periods[-1]
    if not PERIOD.match(period):
        raise ValidationException(
            _("period must look like 2025Q3, not {period!r}").format(period=period[:40])
        )
    if period not in catalog.current:
        raise NotFoundException(
            _("there is no release for {period}; released periods: {periods}").format(
                period=period, periods=", ".join(catalog.periods)
            )
        )
    return period


def chosen_district(catalog: Catalog, district: str | None) -> str | None:
    """The district asked for (by code), or None for the whole city."""
    if district is None or district == "":
        return None
    if not CODE.match(district):
        raise ValidationException(
            _("district must be a district code such as {example!r}, not {given!r}").format(
                example=_first_district(catalog), given=district[:40]
            )
        )
    districts = catalog.areas_at("district")
    if district not in {a.code for a in districts}:
        named = [a.code for a in districts if a.name.casefold() == district.casefold()]
        hint = (
            _(" (the district named {name!r} is {code!r})").format(name=district, code=named[0])
            if named
            else ""
        )
        raise ValidationException(
            _("there is no district {given!r}{hint}; districts: {known}").format(
                given=district,
                hint=hint,
                known=", ".join(f"{a.code} ({a.name})" for a in districts),
            )
        )
    return district


def _first_district(catalog: Catalog) -> str:
    districts = catalog.areas_at("district")
    return districts[0].code if districts else "d1"
