"""The closed vocabularies of the canonical schema, defined once.

Every categorical column of the internal store takes one of these codes and nothing else.
Each vocabulary ends with an explicit ``unknown`` so that a blank or an unrecognised source
value is counted, never dropped; the release engine relies on the key set being closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from publishing import vocabularies as shipped

UNKNOWN = shipped.UNKNOWN

# The default vocabularies of the fields that can declare another (see
# :mod:`publishing.vocabularies`).
SUBJECT_RACE = shipped.US_RACE.codes
SUBJECT_SEX = ("female", "male", "other", UNKNOWN)
SUBJECT_AGE_BAND = shipped.US_AGE_BANDS.codes
STOP_TYPE = ("vehicular", "pedestrian", "other", UNKNOWN)
REASON = (
    "traffic_violation",
    "equipment",
    "investigative",
    "suspicious",
    "call_for_service",
    "warrant",
    "other",
    UNKNOWN,
)
OUTCOME = shipped.US_OUTCOMES.codes
# Tri-state flags: a source that does not record a flag says so with ``unknown``.
FLAG = ("yes", "no", UNKNOWN)

# UCR Part I offences plus "other" (Part II and anything a source does not classify).
OFFENSE_CATEGORY = shipped.UCR_PART_ONE.codes
CRIME_AGAINST = ("person", "property", "society", UNKNOWN)
# What a record is against when the source does not say, for the codes of every offence
# vocabulary (a code means the same in each; "other" and anti-social behaviour say nothing).
CRIME_AGAINST_BY_OFFENSE: Mapping[str, str] = MappingProxyType(
    {
        code: vocabulary.against.get(code, UNKNOWN)
        for vocabulary in shipped.FAMILIES["offense_category"]
        for code in vocabulary.codes
    }
)

FORCE_TYPE = (
    "bodily",
    "chemical",
    "taser",
    "impact_weapon",
    "firearm_pointed",
    "firearm_discharged",
    "canine",
    "other",
    UNKNOWN,
)

AREA_LEVEL = ("city", "district", "beat")
FOCUS_AREA_ROLE = ("member", "comparison", "buffer")

# Age bands by their lower bound; used when a source gives a numeric age.
_AGE_BAND_BOUNDS = (
    (65, "65_plus"),
    (55, "55_64"),
    (45, "45_54"),
    (35, "35_44"),
    (25, "25_34"),
    (18, "18_24"),
    (0, "under_18"),
)


def age_band(age: float) -> str:
    """Return the age band of a numeric age; ages outside 0..120 are ``unknown``."""
    if not 0 <= age <= 120:
        return UNKNOWN
    for lower, band in _AGE_BAND_BOUNDS:
        if age >= lower:
            return band
    return UNKNOWN  # pragma: no cover - the bounds above end at 0


_AGE_RANGE = re.compile(
    r"^\s*(?:(?P<lo>\d{1,3})\s*(?:-|\u2013|to)\s*(?P<hi>\d{1,3})"
    r"|(?:over|above|older than)\s*(?P<over>\d{1,3})|(?P<plus>\d{1,3})\s*(?:\+|and over)"
    r"|(?:under|below|younger than|<)\s*(?P<under>\d{1,3}))\s*$",
    re.IGNORECASE,
)


class StraddlingRange(ValueError):
    """An age range that is not inside one canonical band."""


def age_range_band(text: str) -> str:
    """The canonical band of a declared age range ("18-24", "25 to 34", "over 34",
    "65+", "under 10"). ValueError for text that is not a range; :class:`StraddlingRange`
    for a range that crosses a band's edge ("18-25"): no band may silently take it."""
    found = _AGE_RANGE.match(text)
    if found is None:
        raise ValueError(f"not an age range: {text!r}")
    if found["lo"] is not None:
        lo, hi = int(found["lo"]), int(found["hi"])
    elif found["over"] is not None:
        lo, hi = int(found["over"]) + 1, 120
    elif found["plus"] is not None:
        lo, hi = int(found["plus"]), 120
    else:
        lo, hi = 0, int(found["under"]) - 1
    first, last = age_band(lo), age_band(hi)
    if lo > hi or first != last:
        raise StraddlingRange(
            f"the age range {text!r} straddles the bands {first} and {last}"
            if lo <= hi
            else f"the age range {text!r} is empty"
        )
    return first


def outcome_severity(outcome: str, codes: tuple[str, ...] = OUTCOME) -> int:
    """Rank an outcome code among ``codes`` (an outcome vocabulary, least severe first);
    ``unknown`` ranks below every known outcome so any known outcome wins."""
    if outcome == UNKNOWN:
        return -1
    return codes.index(outcome)
