"""The canonical record schema: what each kind of record holds once it is ingested.

A mapping file (see :mod:`privacy.ingest.mapping`) says how a source's columns reach these
fields. The canonical CSV layout (one column per field, named as here, with canonical codes)
is what the synthetic city writes and what the ``canonical-*`` mappings read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from privacy import vocabulary as v
from publishing import vocabularies
from publishing import vocabularies as shipped


class FieldType(StrEnum):
    """How a field's text is parsed and checked."""

    ID = "id"  # a source's identifier, unique per source; never published
    DATETIME = "datetime"  # local wall time in the department's time zone
    DATE = "date"
    CATEGORY = "category"  # one code of a closed vocabulary
    AREA = "area"  # a district or beat code (checked against the areas at release time)
    TEXT = "text"
    KEY = "key"  # a pseudonymous person or officer key: optional, never published
    FLOAT = "float"
    INT = "int"
    CODES = "codes"  # a list of area codes, separated by ";" in a cell


@dataclass(frozen=True)
class CanonicalField:
    """One field of a canonical record."""

    name: str
    type: FieldType
    vocabulary: tuple[str, ...] = ()  # the codes it takes (its default vocabulary's)
    required: bool = False
    description: str = ""
    declared: str | None = None  # the vocabulary declared for it, when not the default

    @property
    def stored_codes(self) -> tuple[str, ...]:
        """Every code the store accepts in the field, whatever vocabulary is declared."""
        return vocabularies.stored_codes(self.name, self.vocabulary)

    def using(self, vocabulary: str) -> CanonicalField:
        """The field as a department that declares ``vocabulary`` for it records it
        (VocabularyError for a vocabulary the field cannot use)."""
        found = vocabularies.declared(self.name, vocabulary)
        assert found is not None  # declared() raises for a field without a family
        return replace(self, vocabulary=found.codes, declared=found.name)


_F = CanonicalField
_T = FieldType

STOP_FIELDS = (
    _F("source_id", _T.ID, required=True, description="the source's id of the stop"),
    _F("occurred_at", _T.DATETIME, required=True, description="when the stop began, local"),
    _F("district", _T.AREA, description="district code"),
    _F("beat", _T.AREA, description="beat code"),
    _F("stop_type", _T.CATEGORY, v.STOP_TYPE),
    _F("reason", _T.CATEGORY, v.REASON, description="reason category for the stop"),
    _F("subject_race", _T.CATEGORY, v.SUBJECT_RACE, description="as the officer recorded it"),
    _F(
        "subject_self_defined_ethnicity",
        _T.CATEGORY,
        vocabularies.ETHNIC_GROUPS.codes,
        description="as the person stated it, where a department records both",
    ),
    _F("subject_sex", _T.CATEGORY, v.SUBJECT_SEX),
    _F("subject_age_band", _T.CATEGORY, v.SUBJECT_AGE_BAND),
    _F("frisk_performed", _T.CATEGORY, v.FLAG),
    _F("search_conducted", _T.CATEGORY, v.FLAG),
    _F("contraband_found", _T.CATEGORY, v.FLAG),
    _F("outcome", _T.CATEGORY, v.OUTCOME, description="most severe outcome"),
    _F("use_of_force", _T.CATEGORY, v.FLAG),
    _F("person_key", _T.KEY, description="pseudonymous person id, never published"),
    _F("officer_key", _T.KEY, description="pseudonymous officer id, never published"),
    _F("lat", _T.FLOAT, description="latitude, never published"),
    _F("lng", _T.FLOAT, description="longitude, never published"),
)

INCIDENT_FIELDS = (
    _F("source_id", _T.ID, required=True, description="the source's id of the incident"),
    _F("occurred_at", _T.DATETIME, required=True, description="when the offence began, local"),
    _F(
        "offense_category",
        _T.CATEGORY,
        v.OFFENSE_CATEGORY,
        description="in the declared offence vocabulary",
    ),
    _F(
        "crime_against",
        _T.CATEGORY,
        v.CRIME_AGAINST,
        description="derived from offense_category when the source does not say",
    ),
    _F("district", _T.AREA),
    _F("beat", _T.AREA),
    _F("lat", _T.FLOAT),
    _F("lng", _T.FLOAT),
)

FORCE_FIELDS = (
    _F("source_id", _T.ID, required=True, description="the source's id of the force event"),
    _F("occurred_at", _T.DATETIME, required=True),
    _F("district", _T.AREA),
    _F("beat", _T.AREA),
    _F("force_type", _T.CATEGORY, v.FORCE_TYPE),
    _F("subject_race", _T.CATEGORY, v.SUBJECT_RACE),
    _F("subject_sex", _T.CATEGORY, v.SUBJECT_SEX),
    _F("subject_age_band", _T.CATEGORY, v.SUBJECT_AGE_BAND),
    _F("subject_injury", _T.CATEGORY, v.FLAG),
    _F("person_key", _T.KEY),
    _F("officer_key", _T.KEY),
    _F("lat", _T.FLOAT),
    _F("lng", _T.FLOAT),
)

# The race and ethnic groups an area's population may be given in: the codes of every
# vocabulary of subject_race (US race, the census's ethnic groups), so that a department's
# stops by race can be read per resident of the group.
POPULATION_GROUPS = tuple(
    dict.fromkeys(
        code
        for family in (shipped.US_RACE, shipped.ETHNIC_GROUPS)
        for code in family.codes
        if code != v.UNKNOWN
    )
)

AREA_FIELDS = (
    _F("code", _T.ID, required=True, description="area code, unique within its level"),
    _F("level", _T.CATEGORY, v.AREA_LEVEL, required=True),
    _F("name", _T.TEXT, required=True),
    _F("parent", _T.AREA, description="code of the enclosing area (none for the city)"),
    _F("population", _T.INT, description="residents, where known"),
    _F("boundary", _T.TEXT, description="GeoJSON geometry (Polygon or MultiPolygon)"),
    *(
        _F(
            f"population_{group}",
            _T.INT,
            description=f"residents of the race or ethnic group {group}, where known",
        )
        for group in POPULATION_GROUPS
    ),
)

FOCUS_AREA_FIELDS = (
    _F("code", _T.ID, required=True),
    _F("name", _T.TEXT, required=True),
    _F("member_beats", _T.CODES, required=True),
    _F("comparison_beats", _T.CODES),
    _F("buffer_beats", _T.CODES),
    _F("intervention_start", _T.DATE, required=True),
    _F("intervention_end", _T.DATE),
)

FIELDS_BY_KIND: dict[str, tuple[CanonicalField, ...]] = {
    "stops": STOP_FIELDS,
    "incidents": INCIDENT_FIELDS,
    "force": FORCE_FIELDS,
    "areas": AREA_FIELDS,
    "focus-areas": FOCUS_AREA_FIELDS,
}
RECORD_KINDS = ("stops", "incidents", "force")
REFERENCE_KINDS = ("areas", "focus-areas")
KINDS = RECORD_KINDS + REFERENCE_KINDS


def fields_of(kind: str) -> tuple[CanonicalField, ...]:
    """Return the canonical fields of a record kind, or raise ``KeyError`` naming the kinds."""
    try:
        return FIELDS_BY_KIND[kind]
    except KeyError:
        raise KeyError(
            f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None
