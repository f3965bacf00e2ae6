"""How codes read to people. A code means the same in every vocabulary that has it (see
:mod:`publishing.vocabularies`), so one label serves them all."""

from __future__ import annotations

LABELS = {
    "asian_pacific_islander": "Asian / Pacific Islander",
    "black": "Black",
    "hispanic": "Hispanic",
    "white": "White",
    "other": "Other",
    "unknown": "Not recorded",
    # Not "no action": the headline's stops with no enforcement action count warnings too.
    "none": "No warning or enforcement",
    "warning": "Warning",
    "citation": "Citation",
    "summons": "Summons",
    "referral": "Referral",
    "arrest": "Arrest",
    "traffic_violation": "Traffic violation",
    "equipment": "Equipment",
    "investigative": "Investigative",
    "suspicious": "Suspicious activity",
    "call_for_service": "Call for service",
    "warrant": "Warrant",
    "homicide": "Homicide",
    "rape": "Rape",
    "robbery": "Robbery",
    "aggravated_assault": "Aggravated assault",
    "burglary": "Burglary",
    "larceny": "Larceny",
    "motor_vehicle_theft": "Motor vehicle theft",
    "arson": "Arson",
    # NIBRS Group A offence categories
    "kidnapping": "Kidnapping or abduction",
    "human_trafficking": "Human trafficking",
    "sex_offenses": "Sex offences",
    "assault": "Assault",
    "destruction_vandalism": "Destruction, damage or vandalism",
    "stolen_property": "Stolen property offences",
    "fraud": "Fraud",
    "embezzlement": "Embezzlement",
    "counterfeiting_forgery": "Counterfeiting or forgery",
    "extortion": "Extortion or blackmail",
    "bribery": "Bribery",
    "drug_offenses": "Drug or narcotic offences",
    "weapon_law_violations": "Weapon law violations",
    "prostitution": "Prostitution offences",
    "pornography": "Pornography or obscene material",
    "gambling": "Gambling offences",
    "animal_cruelty": "Animal cruelty",
    # Home Office crime types (data.police.uk)
    "anti_social_behaviour": "Anti-social behaviour",
    "violence_and_sexual_offences": "Violence and sexual offences",
    "vehicle_crime": "Vehicle crime",
    "theft_from_the_person": "Theft from the person",
    "shoplifting": "Shoplifting",
    "bicycle_theft": "Bicycle theft",
    "other_theft": "Other theft",
    "criminal_damage_and_arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "possession_of_weapons": "Possession of weapons",
    "public_order": "Public order",
    # Stop and search outcomes (England and Wales)
    "no_further_action": "No further action",
    "cannabis_warning": "Khat or cannabis warning",
    "community_resolution": "Community resolution",
    "penalty_notice": "Penalty notice for disorder",
    "caution": "Caution",
    # Ethnic groups (England and Wales census) and data.police.uk's age ranges
    "asian": "Asian",
    "mixed": "Mixed",
    "under_18": "Under 18",
    "18_24": "18 to 24",
    "25_34": "25 to 34",
    "35_44": "35 to 44",
    "45_54": "45 to 54",
    "55_64": "55 to 64",
    "65_plus": "65 and over",
    "under_10": "Under 10",
    "10_17": "10 to 17",
    "over_34": "Over 34",
}


def label(code: str) -> str:
    """A code as people read it."""
    return LABELS.get(code, code.replace("_", " ").capitalize())
