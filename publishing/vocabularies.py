"""The shipped vocabularies a department can declare for its coded fields.

Departments classify the same things differently: offences as UCR Part I, as NIBRS Group A
categories, or as the Home Office crime types that data.police.uk publishes; stop outcomes
as a US department's or as England and Wales's; people by the US race categories or by the
five broad ethnic groups of the England and Wales census. A field with several shipped
vocabularies is declared in the mapping (``vocabulary = "home-office"``) and kept in the
department profile; the release's key set, the site's series, its headline measure and the
data dictionary all follow that declaration. The first vocabulary of a field is its default.

A code means the same thing in every vocabulary that has it (``robbery``, ``arrest``,
``other``, ``unknown``), so one label and one store check serve them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from publishing.i18n import N_

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Headline:
    """A vocabulary's own headline measure: its name, the codes it adds up, and what a
    reader should know about what it leaves out."""

    label: str  # as a heading: "Recorded crimes"
    noun: str  # inside a sentence: "recorded crimes"
    codes: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """One closed list of codes, in display order (and, for outcomes, from least to most
    severe), ending with ``unknown``."""

    name: str
    title: str
    codes: tuple[str, ...]
    description: str
    headline: Headline | None = None
    # Named sets of codes a policy may filter on, whatever the vocabulary: "no_enforcement"
    # is "none or a warning" for a US department and "no further action" in England.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Each group in words, for the sentences beside the figures built on it.
    group_words: Mapping[str, str] = field(default_factory=dict)
    noun: str = ""  # what the codes are of, in a chart's title: "race", "ethnicity"
    # For offences: what each code is against (NIBRS's grouping: person, property or
    # society); a code not named here ("other", anti-social behaviour) says nothing.
    against: Mapping[str, str] = field(default_factory=dict)

    @property
    def known(self) -> tuple[str, ...]:
        """The codes other than ``unknown``."""
        return tuple(c for c in self.codes if c != UNKNOWN)


def _v(
    name: str,
    title: str,
    codes: tuple[str, ...],
    description: str,
    headline: Headline | None = None,
    groups: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
    noun: str = "",
    against: Mapping[str, str] | None = None,
) -> Vocabulary:
    found = dict(groups or {})
    return Vocabulary(
        name,
        title,
        (*codes, UNKNOWN),
        description,
        headline,
        MappingProxyType({k: codes for k, (codes, _) in found.items()}),
        MappingProxyType({k: words for k, (_, words) in found.items()}),
        noun,
        MappingProxyType(dict(against or {})),
    )


# Each offence vocabulary's codes in display order, with what each offence is against.
_UCR = {
    "homicide": "person",
    "rape": "person",
    "robbery": "property",
    "aggravated_assault": "person",
    "burglary": "property",
    "larceny": "property",
    "motor_vehicle_theft": "property",
    "arson": "property",
}
UCR_PART_ONE = _v(
    "ucr-part1",
    "UCR Part I offences",
    (*_UCR, "other"),
    "the eight UCR Part I offences: homicide, rape, robbery, aggravated_assault, burglary, "
    "larceny, motor_vehicle_theft, arson; other for everything else (Part II and "
    "unclassified offences)",
    Headline(N_("Part I crimes"), N_("Part I crimes"), tuple(_UCR)),
    against=_UCR,
)

_NIBRS = {
    "homicide": "person",
    "kidnapping": "person",
    "human_trafficking": "person",
    "sex_offenses": "person",
    "assault": "person",
    "robbery": "property",
    "burglary": "property",
    "larceny": "property",
    "motor_vehicle_theft": "property",
    "arson": "property",
    "destruction_vandalism": "property",
    "stolen_property": "property",
    "fraud": "property",
    "embezzlement": "property",
    "counterfeiting_forgery": "property",
    "extortion": "property",
    "bribery": "property",
    "drug_offenses": "society",
    "weapon_law_violations": "society",
    "prostitution": "society",
    "pornography": "society",
    "gambling": "society",
    "animal_cruelty": "society",
}
NIBRS_GROUP_A = _v(
    "nibrs-group-a",
    "NIBRS Group A offence categories",
    (*_NIBRS, "other"),
    "the NIBRS Group A offence categories (" + ", ".join(_NIBRS) + "); other for Group B "
    "offences and anything else",
    Headline(N_("Group A offences"), N_("Group A offences"), tuple(_NIBRS)),
    against=_NIBRS,
)

_HOME_OFFICE = {
    "violence_and_sexual_offences": "person",
    "robbery": "property",
    "burglary": "property",
    "vehicle_crime": "property",
    "theft_from_the_person": "property",
    "shoplifting": "property",
    "bicycle_theft": "property",
    "other_theft": "property",
    "criminal_damage_and_arson": "property",
    "drugs": "society",
    "possession_of_weapons": "society",
    "public_order": "society",
    "other": UNKNOWN,
}
HOME_OFFICE = _v(
    "home-office",
    "Home Office crime types (data.police.uk)",
    ("anti_social_behaviour", *_HOME_OFFICE),
    "the crime types of data.police.uk (" + ", ".join(list(_HOME_OFFICE)[:-1]) + ", other for "
    "other crime) and anti_social_behaviour, which is recorded but is not a crime",
    Headline(
        N_("Recorded crimes"),
        N_("recorded crimes"),
        tuple(_HOME_OFFICE),
        N_("anti-social behaviour is recorded too, but it is not a crime and is not counted here"),
    ),
    against=_HOME_OFFICE,
)

# Ordered from least to most severe: a stop's outcome is the most severe thing that happened.
# A referral (referred for prosecution, or to another agency, without an arrest) ranks above
# a summons and below an arrest.
US_OUTCOMES = _v(
    "us-stop",
    "Stop outcomes (US)",
    ("none", "warning", "citation", "summons", "referral", "arrest"),
    "none, warning, citation, summons, referral (for prosecution or to another agency, "
    "without an arrest), arrest",
    groups={
        "no_enforcement": (
            ("none", "warning"),
            N_("no citation, summons, referral or arrest (a warning or nothing at all)"),
        )
    },
)
UK_OUTCOMES = _v(
    "uk-stop-search",
    "Stop and search outcomes (England and Wales)",
    (
        "no_further_action",
        "cannabis_warning",
        "community_resolution",
        "penalty_notice",
        "caution",
        "summons",
        "arrest",
    ),
    "as data.police.uk records them: no_further_action, "
    "cannabis_warning (khat or cannabis warning), community_resolution, penalty_notice "
    "(for disorder), caution (simple or conditional), summons (or charged by post), arrest",
    groups={"no_enforcement": (("no_further_action",), N_("no further action"))},
)

US_RACE = _v(
    "us-race",
    "Race (Stanford Open Policing Project)",
    # The Stanford Open Policing Project's categories, "asian/pacific islander" written as a
    # code that is safe in URLs and column names.
    ("asian_pacific_islander", "black", "hispanic", "white", "other"),
    "asian_pacific_islander, black, hispanic, white, other",
    noun=N_("race"),
)
ETHNIC_GROUPS = _v(
    "uk-ethnic-groups",
    "Ethnic groups (England and Wales census)",
    ("asian", "black", "mixed", "white", "other"),
    "the five broad ethnic groups of the England and Wales census: asian, black, mixed, "
    "white, other",
    noun=N_("ethnicity"),
)

US_AGE_BANDS = _v(
    "us-age-bands",
    "Age bands",
    ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"),
    "under_18, 18_24, 25_34, 35_44, 45_54, 55_64, 65_plus",
)
UK_AGE_RANGES = _v(
    "uk-age-ranges",
    "Age ranges (data.police.uk)",
    ("under_10", "10_17", "18_24", "25_34", "over_34"),
    "the age ranges of data.police.uk: under_10, 10_17, 18_24, 25_34, over_34",
)

VOCABULARIES: Mapping[str, Vocabulary] = MappingProxyType(
    {
        v.name: v
        for v in (
            UCR_PART_ONE,
            NIBRS_GROUP_A,
            HOME_OFFICE,
            US_OUTCOMES,
            UK_OUTCOMES,
            US_RACE,
            ETHNIC_GROUPS,
            US_AGE_BANDS,
            UK_AGE_RANGES,
        )
    }
)
# The fields that can declare a vocabulary, with the ones they can declare (the default
# first). Every other coded field has the one vocabulary of the canonical schema.
FAMILIES: Mapping[str, tuple[Vocabulary, ...]] = MappingProxyType(
    {
        "offense_category": (UCR_PART_ONE, NIBRS_GROUP_A, HOME_OFFICE),
        "outcome": (US_OUTCOMES, UK_OUTCOMES),
        "subject_race": (US_RACE, ETHNIC_GROUPS),
        "subject_self_defined_ethnicity": (ETHNIC_GROUPS, US_RACE),
        "subject_age_band": (US_AGE_BANDS, UK_AGE_RANGES),
    }
)


class VocabularyError(ValueError):
    """A vocabulary a field cannot declare, with the ones it can."""


def declared(field_name: str, name: str | None = None) -> Vocabulary | None:
    """The vocabulary ``field_name`` declares (its default when ``name`` is None), or None
    for a field that has a single vocabulary and declares none."""
    family = FAMILIES.get(field_name)
    if family is None:
        if name is not None:
            raise VocabularyError(
                f"{field_name} has one vocabulary and declares none (fields that can: "
                + ", ".join(FAMILIES)
                + ")"
            )
        return None
    if name is None:
        return family[0]
    for vocabulary in family:
        if vocabulary.name == name:
            return vocabulary
    raise VocabularyError(
        f"{field_name} cannot use the vocabulary {name!r}; it can use: "
        + ", ".join(v.name for v in family)
    )


def stored_codes(field_name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Every code the field can hold in any of its vocabularies (what the store accepts)."""
    family = FAMILIES.get(field_name)
    if family is None:
        return default
    return tuple(dict.fromkeys(code for v in family for code in v.codes))


def group_codes(field_name: str, group: str) -> tuple[str, ...] | None:
    """The codes of a named group in any vocabulary of the field, or None when none of them
    names it."""
    found = [code for v in FAMILIES.get(field_name, ()) for code in v.groups.get(group, ()) if code]
    return tuple(dict.fromkeys(found)) or None
