"""The categorical mixes and rates of the synthetic city's records, keyed by vocabulary code.

Figures are loosely modelled on published US stop and crime data: mostly vehicular stops,
searches in 5-10% of stops at rates that differ by race, hit rates of 20-35%, larceny the
most common offence and homicide rare. They are plausible, not estimates of any city.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from privacy import vocabulary as v

FloatArray = npt.NDArray[np.float64]


def probs(vocab: Sequence[str], weights: Mapping[str, float]) -> FloatArray:
    """Normalised probabilities in vocabulary order; codes not in ``weights`` get zero."""
    unknown = set(weights) - set(vocab)
    if unknown:
        raise ValueError(f"codes not in the vocabulary: {sorted(unknown)}")
    p = np.array([weights.get(code, 0.0) for code in vocab], dtype=np.float64)
    normalised: FloatArray = p / p.sum()
    return normalised


def per_code(vocab: Sequence[str], values: Mapping[str, float]) -> FloatArray:
    """Values in vocabulary order (e.g. a rate per race); missing codes get 1.0."""
    return np.array([values.get(code, 1.0) for code in vocab], dtype=np.float64)


KNOWN_RACES = v.SUBJECT_RACE[:-1]
AGE_MIX = probs(
    v.SUBJECT_AGE_BAND,
    {
        "under_18": 0.06,
        "18_24": 0.22,
        "25_34": 0.29,
        "35_44": 0.20,
        "45_54": 0.12,
        "55_64": 0.08,
        "65_plus": 0.03,
    },
)
SEX_MIX = probs(v.SUBJECT_SEX, {"male": 0.70, "female": 0.297, "other": 0.003})

# Pedestrian stops: a base share per beat rising with crime, scaled by the subject's age.
PEDESTRIAN_SHARE_LOW, PEDESTRIAN_SHARE_HIGH = 0.10, 0.35
OTHER_STOP_SHARE = 0.04
PEDESTRIAN_BY_AGE = per_code(
    v.SUBJECT_AGE_BAND,
    {
        "under_18": 1.8,
        "18_24": 1.4,
        "25_34": 1.0,
        "35_44": 0.8,
        "45_54": 0.7,
        "55_64": 0.6,
        "65_plus": 0.5,
    },
)
# Reason mix by stop type (vehicular, pedestrian, other).
REASON_BY_TYPE = np.stack(
    [
        probs(
            v.REASON,
            {
                "traffic_violation": 0.66,
                "equipment": 0.19,
                "investigative": 0.04,
                "suspicious": 0.03,
                "call_for_service": 0.04,
                "warrant": 0.01,
                "other": 0.03,
            },
        ),
        probs(
            v.REASON,
            {
                "traffic_violation": 0.03,
                "investigative": 0.24,
                "suspicious": 0.33,
                "call_for_service": 0.27,
                "warrant": 0.05,
                "other": 0.08,
            },
        ),
        probs(
            v.REASON,
            {
                "investigative": 0.2,
                "suspicious": 0.2,
                "call_for_service": 0.4,
                "warrant": 0.05,
                "other": 0.15,
            },
        ),
    ]
)
FRISK_BY_TYPE = np.array([0.02, 0.14, 0.05])
SEARCH_BY_TYPE = np.array([0.035, 0.09, 0.05])
RACE_SEARCH_FACTOR = per_code(
    v.SUBJECT_RACE,
    {
        "asian_pacific_islander": 0.6,
        "black": 1.7,
        "hispanic": 1.3,
        "white": 0.75,
        "other": 1.0,
    },
)
FEMALE_FRISK_FACTOR = 0.4
SEARCH_IF_FRISKED = 0.45
SEARCH_IF_WARRANT = 0.5
HIT_RATE_BY_RACE = per_code(
    v.SUBJECT_RACE,
    {
        "asian_pacific_islander": 0.30,
        "black": 0.24,
        "hispanic": 0.26,
        "white": 0.33,
        "other": 0.28,
        "unknown": 0.28,
    },
)
# The share of stops ending with no action (outcome none, no contraband) falls linearly.
NO_ACTION_START, NO_ACTION_END = 0.55, 0.40
OUTCOME_IF_CONTRABAND = probs(
    v.OUTCOME,
    {
        "none": 0.04,
        "warning": 0.05,
        "citation": 0.30,
        "summons": 0.13,
        "arrest": 0.48,
    },
)
# Outcomes other than none for stops without contraband, by reason (warning..arrest).
_TRAFFIC = (0.47, 0.46, 0.04, 0.03)
_ACTIONS = {
    "traffic_violation": _TRAFFIC,
    "equipment": _TRAFFIC,
    "investigative": (0.55, 0.15, 0.10, 0.20),
    "suspicious": (0.55, 0.15, 0.10, 0.20),
    "call_for_service": (0.50, 0.15, 0.10, 0.25),
    "warrant": (0.10, 0.05, 0.15, 0.70),
    "other": (0.50, 0.30, 0.10, 0.10),
    "unknown": (0.50, 0.30, 0.10, 0.10),
}
ACTION_BY_REASON = np.array([_ACTIONS[r] for r in v.REASON], dtype=np.float64)
FORCE_IF_ARREST, FORCE_OTHERWISE = 0.06, 0.002

OFFENSE_MIX = probs(
    v.OFFENSE_CATEGORY,
    {
        "homicide": 0.002,
        "rape": 0.012,
        "robbery": 0.05,
        "aggravated_assault": 0.09,
        "burglary": 0.09,
        "larceny": 0.34,
        "motor_vehicle_theft": 0.09,
        "arson": 0.005,
        "other": 0.321,
    },
)
VIOLENT_TILT = 0.25  # violent offences lean towards high-crime beats (per sd of propensity)
FORCE_TYPE_MIX = probs(
    v.FORCE_TYPE,
    {
        "bodily": 0.45,
        "chemical": 0.07,
        "taser": 0.15,
        "impact_weapon": 0.05,
        "firearm_pointed": 0.18,
        "firearm_discharged": 0.005,
        "canine": 0.02,
        "other": 0.075,
    },
)
INJURY_BY_FORCE_TYPE = per_code(
    v.FORCE_TYPE,
    {
        "bodily": 0.25,
        "chemical": 0.15,
        "taser": 0.40,
        "impact_weapon": 0.50,
        "firearm_pointed": 0.02,
        "firearm_discharged": 0.60,
        "canine": 0.80,
        "other": 0.20,
        "unknown": 0.25,
    },
)

# Shares of values recorded as unknown, per column.
UNKNOWN_RATE = {
    "subject_race": 0.02,
    "subject_sex": 0.01,
    "subject_age_band": 0.025,
    "stop_type": 0.005,
    "reason": 0.015,
    "frisk_performed": 0.01,
    "use_of_force": 0.01,
    "offense_category": 0.01,
    "force_type": 0.02,
    "subject_injury": 0.03,
}
MISSING_COORDINATES = 0.02

# Relative frequency by hour of day (0..23); incidents have the usual midnight spike.
INCIDENT_HOURS = np.array(
    [
        5.5,
        4.0,
        3.5,
        3.0,
        2.2,
        1.8,
        1.8,
        2.5,
        3.5,
        4.0,
        4.2,
        4.5,
        5.5,
        4.8,
        4.8,
        5.0,
        5.3,
        5.6,
        5.6,
        5.5,
        5.3,
        5.2,
        5.0,
        4.5,
    ]
)
STOP_HOURS = np.array(
    [
        4.5,
        4.0,
        3.0,
        2.2,
        1.5,
        1.0,
        1.2,
        2.5,
        4.0,
        4.5,
        4.8,
        4.5,
        4.2,
        4.3,
        4.5,
        4.8,
        5.0,
        5.0,
        4.8,
        4.8,
        5.0,
        5.2,
        5.3,
        5.0,
    ]
)
FORCE_HOURS = INCIDENT_HOURS

# People and officers: pools per beat / district with heavy-tailed activity.
PERSONS_PER_STOP = 1.5
PERSON_TAIL = 1.8  # index = floor(pool * u ** tail): the larger, the heavier the tail
STOPS_PER_OFFICER_YEAR = 300
OFFICER_TAIL = 1.5
FORCE_OFFICER_TAIL = 2.0
