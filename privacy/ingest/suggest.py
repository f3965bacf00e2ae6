"""What a source's names and values most likely mean, for ``portal mapping draft``: a
column's name to a canonical field, a value to a code, a coded column to a vocabulary. Every
answer is a suggestion the analyst reviews."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence

from privacy import vocabulary as v
from publishing.vocabularies import FAMILIES, Vocabulary

_WORD = re.compile(r"[^a-z0-9]+")

# Column names (lower case, letters and digits only) that suggest each field, best first.
COLUMN_WORDS: dict[str, tuple[str, ...]] = {
    "source_id": (
        "sourceid",
        "idnum",
        "id",
        "stopid",
        "incidentid",
        "eventid",
        "recordid",
        "caseid",
        "casenumber",
        "incidentnumber",
        "reportnumber",
        "controlnbr",
        "ccn",
        "rawrownumber",
        "objectid",
        "rownames",
    ),
    "occurred_at": (
        "occurredat",
        "datetime",
        "date",
        "stopdate",
        "stopdatetime",
        "begindate",
        "occurreddate",
        "incidentdate",
        "eventdate",
        "responsedatetime",
        "timestamp",
        "month",
    ),
    "district": ("district", "precinct", "policeprecinct", "pct", "division", "districtcode"),
    "beat": ("beat", "neighborhood", "neighbourhood", "sector", "zone", "beatcode", "lsoacode"),
    "stop_type": ("stoptype", "type", "problem", "stopcategory"),
    "reason": ("reason", "reasonforstop", "stopreason", "problem"),
    "subject_race": (
        "subjectrace",
        "race",
        "suspectrace",
        "ethnicity",
        "racedescription",
        "officerdefinedethnicity",
    ),
    "subject_self_defined_ethnicity": ("selfdefinedethnicity", "selfreportedrace"),
    "subject_sex": ("subjectsex", "sex", "gender", "suspectsex"),
    "subject_age_band": ("subjectageband", "ageband", "agegroup", "agerange", "subjectage", "age"),
    "frisk_performed": ("friskperformed", "frisk", "frisked", "patdown"),
    "search_conducted": ("searchconducted", "search", "searched", "personsearch", "vehiclesearch"),
    "contraband_found": ("contrabandfound", "contraband", "outcomelinkedtoobjectofsearch"),
    "outcome": ("outcome", "result", "disposition", "citationissued", "arrestmade"),
    "use_of_force": ("useofforce", "forceused"),
    "person_key": ("personkey", "personid", "subjectid"),
    "officer_key": ("officerkey", "officerid", "badge", "badgenumber"),
    "lat": ("lat", "latitude"),
    "lng": ("lng", "long", "lon", "longitude"),
    "offense_category": (
        "offensecategory",
        "ucrcode",
        "offense",
        "offensetype",
        "crimetype",
        "offensecode",
        "nibrscode",
    ),
    "crime_against": ("crimeagainst",),
    "force_type": ("forcetype", "typeofforce"),
    "subject_injury": ("subjectinjury", "injury", "injured"),
}
# The NIBRS offence codes of each offence category (Group B's 90-codes are "other").
NIBRS_CODES: dict[str, tuple[str, ...]] = {
    "homicide": ("09a", "09b"),
    "rape": ("11a", "11b", "11c"),
    "aggravated_assault": ("13a",),
    "kidnapping": ("100",),
    "human_trafficking": ("64a", "64b"),
    "sex_offenses": ("11a", "11b", "11c", "11d", "36a", "36b"),
    "assault": ("13a", "13b", "13c"),
    "robbery": ("120",),
    "burglary": ("220",),
    "larceny": tuple(f"23{x}" for x in "abcdefgh"),
    "motor_vehicle_theft": ("240",),
    "arson": ("200",),
    "destruction_vandalism": ("290",),
    "stolen_property": ("280",),
    "fraud": tuple(f"26{x}" for x in "abcdefgh"),
    "embezzlement": ("270",),
    "counterfeiting_forgery": ("250",),
    "extortion": ("210",),
    "bribery": ("510",),
    "drug_offenses": ("35a", "35b"),
    "weapon_law_violations": ("520",),
    "prostitution": ("40a", "40b", "40c"),
    "pornography": ("370",),
    "gambling": ("39a", "39b", "39c", "39d"),
    "animal_cruelty": ("720",),
}
# Source words (lower case, other characters as "_") that suggest each canonical code.
VALUE_WORDS: dict[str, tuple[str, ...]] = {
    "yes": ("y", "t", "true", "1"),
    "no": ("n", "f", "false", "0"),
    "male": ("m", "man"),
    "female": ("f", "woman"),
    v.UNKNOWN: ("", "na", "n_a", "null", "unk", "u", "not_recorded", "missing", "unknown"),
    "asian_pacific_islander": ("asian", "a", "pacific_islander", "asian_pacific_islander"),
    "black": ("b", "african_american", "black_or_african_american"),
    "hispanic": ("h", "latino", "latinx", "hispanic_latino"),
    "white": ("w", "caucasian"),
    "other": (
        "o",
        "native_american",
        "american_indian",
        "american_indian_alaskan_native",
        "other_crime",
        "other_ethnic_group",
        *(f"90{x}" for x in "abcdefghijz"),
    ),
    "vehicular": ("vehicle", "traffic", "v", "car", "vehicle_search", "person_and_vehicle_search"),
    "pedestrian": ("ped", "p", "walking", "person_search"),
    "traffic_violation": ("traffic", "moving_violation", "moving"),
    "suspicious": ("reasonable_suspicion", "suspicious_activity", "suspicious_person"),
    "investigative": ("probable_cause", "investigation", "investigatory"),
    "call_for_service": ("call", "dispatch", "dispatched", "911", "911_call"),
    "warrant": ("probation_parole", "parole", "probation", "warrant_check"),
    "citation": ("ticket", "cited", "citation_issued"),
    "arrest": ("arrested", "custodial_arrest", "suspect_arrested"),
    "warning": ("warned", "verbal_warning", "written_warning"),
    "none": ("no_action", "nothing"),
    # data.police.uk's stop and search outcomes, current and older wordings
    "no_further_action": ("a_no_further_action_disposal", "nothing_found_no_further_action"),
    "cannabis_warning": ("khat_or_cannabis_warning", "offender_given_drugs_possession_warning"),
    "community_resolution": ("local_resolution",),
    "penalty_notice": ("penalty_notice_for_disorder", "offender_given_penalty_notice"),
    "caution": ("caution_simple_or_conditional", "offender_cautioned"),
    "summons": ("summons_charged_by_post", "suspect_summonsed_to_court", "summonsed"),
    # NIBRS offence codes (lower case) for the Group A categories and for UCR Part I
    **NIBRS_CODES,
}


# Columns of a point in a projection (a state plane's feet, say), easting then northing.
EASTING_WORDS = ("x", "xcoord", "xcoordinate", "easting", "pointx")
NORTHING_WORDS = ("y", "ycoord", "ycoordinate", "northing", "pointy")


def column_word(name: str) -> str:
    """A column name as the matching compares it (``Police Precinct`` -> ``policeprecinct``)."""
    return _WORD.sub("", name.lower())


def suggest_code(value: str, vocabulary: Sequence[str]) -> str:
    """The canonical code a source value most likely means: the code itself (any case),
    a common synonym, a close spelling, else ``unknown``."""
    text = value.strip().lower()
    key = _WORD.sub("_", text).strip("_")
    for code in vocabulary:
        if text == code or key == code:
            return code
    for code in vocabulary:
        if key in VALUE_WORDS.get(code, ()):
            return code
    if key.endswith(("_not_stated", "_not_known", "_unknown")):
        return v.UNKNOWN
    # A group and its detail ("White - Irish", "Asian/Asian British - Indian", "Other ethnic
    # group - Arab"): the group's first word names the code.
    head = re.split(r"\s+-\s+|/", text)[0]
    head_key = _WORD.sub("_", head).strip("_")
    for code in vocabulary if head != text else ():
        if code != v.UNKNOWN and (head_key == code or head_key.startswith(f"{code}_")):
            return code
    close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
    return close[0] if close else v.UNKNOWN


def suggest_vocabulary(field_name: str, counts: Counter[str]) -> list[Vocabulary]:
    """The vocabularies a coded column could be declared in, the likeliest first: by the
    rows whose values are a vocabulary's codes or their common synonyms ("Latino" is a US
    race), then by the rows whose values are its codes as they stand; the default first
    among equals. A near spelling is no evidence ("over 64" is not "over 34"). Empty for a
    field with a single vocabulary."""
    family = FAMILIES.get(field_name, ())

    def score(vocabulary: Vocabulary) -> tuple[int, int]:
        named = exact = 0
        for value, n in counts.items():
            key = _WORD.sub("_", value.strip().lower()).strip("_")
            if key in vocabulary.known:
                named, exact = named + n, exact + n
            elif any(key in VALUE_WORDS.get(code, ()) for code in vocabulary.known):
                named += n
        return named, exact

    return sorted(family, key=score, reverse=True)  # a stable sort keeps the default first
