"""How codes read to people, and which offences are Part I crimes."""

from __future__ import annotations

PART_ONE = (
    "homicide",
    "rape",
    "robbery",
    "aggravated_assault",
    "burglary",
    "larceny",
    "motor_vehicle_theft",
    "arson",
)
LABELS = {
    "asian_pacific_islander": "Asian / Pacific Islander",
    "black": "Black",
    "hispanic": "Hispanic",
    "white": "White",
    "other": "Other",
    "unknown": "Not recorded",
    "none": "No action",
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
}


def label(code: str) -> str:
    """A code as people read it."""
    return LABELS.get(code, code.replace("_", " ").capitalize())
