"""vocabularies a department declares

Revision ID: internal_0006
Revises: internal_0005
Create Date: 2026-12-03 14:30:00.000000

A department declares which shipped vocabulary its coded fields use: offences as UCR Part
I, NIBRS Group A or the Home Office crime types; outcomes as a US department's or as
England and Wales's stop and search outcomes; people by the US race categories or the
census's five ethnic groups; ages by the US bands or data.police.uk's ranges. Each field's
check accepts the codes of all its vocabularies (the default's first), and stops gain the
ethnicity the person stated, beside the one the officer recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "internal_0006"
down_revision: str | Sequence[str] | None = "internal_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

US_RACE = ("asian_pacific_islander", "black", "hispanic", "white", "other", "unknown")
ETHNIC_GROUPS = ("asian", "black", "mixed", "white", "other", "unknown")
US_AGE = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown")
UK_AGE = ("under_10", "10_17", "18_24", "25_34", "over_34", "unknown")
US_OUTCOMES = ("none", "warning", "citation", "summons", "referral", "arrest", "unknown")
UK_OUTCOMES = (
    "no_further_action",
    "cannabis_warning",
    "community_resolution",
    "penalty_notice",
    "caution",
    "summons",
    "arrest",
    "unknown",
)
UCR = (
    "homicide",
    "rape",
    "robbery",
    "aggravated_assault",
    "burglary",
    "larceny",
    "motor_vehicle_theft",
    "arson",
    "other",
    "unknown",
)
NIBRS = (
    "homicide",
    "kidnapping",
    "human_trafficking",
    "sex_offenses",
    "assault",
    "robbery",
    "burglary",
    "larceny",
    "motor_vehicle_theft",
    "arson",
    "destruction_vandalism",
    "stolen_property",
    "fraud",
    "embezzlement",
    "counterfeiting_forgery",
    "extortion",
    "bribery",
    "drug_offenses",
    "weapon_law_violations",
    "prostitution",
    "pornography",
    "gambling",
    "animal_cruelty",
    "other",
    "unknown",
)
HOME_OFFICE = (
    "anti_social_behaviour",
    "violence_and_sexual_offences",
    "robbery",
    "burglary",
    "vehicle_crime",
    "theft_from_the_person",
    "shoplifting",
    "bicycle_theft",
    "other_theft",
    "criminal_damage_and_arson",
    "drugs",
    "possession_of_weapons",
    "public_order",
    "other",
    "unknown",
)


def _check(column: str, *vocabularies: tuple[str, ...]) -> str:
    codes = dict.fromkeys(code for vocabulary in vocabularies for code in vocabulary)
    return " OR ".join(f"{column} = '{code}'" for code in codes)


def _recheck(batch_op: object, table: str, column: str, *vocabularies: tuple[str, ...]) -> None:
    name = op.f(f"ck_{table}_{column}_code")
    batch_op.drop_constraint(name, type_="check")  # type: ignore[attr-defined]
    batch_op.create_check_constraint(name, _check(column, *vocabularies))  # type: ignore[attr-defined]


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "subject_self_defined_ethnicity",
                sa.String(length=32),
                nullable=False,
                server_default="unknown",
            )
        )
        _recheck(batch_op, "stops", "subject_race", US_RACE, ETHNIC_GROUPS)
        _recheck(batch_op, "stops", "subject_age_band", US_AGE, UK_AGE)
        _recheck(batch_op, "stops", "outcome", US_OUTCOMES, UK_OUTCOMES)
        batch_op.create_check_constraint(
            op.f("ck_stops_subject_self_defined_ethnicity_code"),
            _check("subject_self_defined_ethnicity", ETHNIC_GROUPS, US_RACE),
        )
    with op.batch_alter_table("force_events", schema=None) as batch_op:
        _recheck(batch_op, "force_events", "subject_race", US_RACE, ETHNIC_GROUPS)
        _recheck(batch_op, "force_events", "subject_age_band", US_AGE, UK_AGE)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        _recheck(batch_op, "incidents", "offense_category", UCR, NIBRS, HOME_OFFICE)


def downgrade() -> None:
    """Downgrade schema (fails while a record holds a code of another vocabulary)."""
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        _recheck(batch_op, "incidents", "offense_category", UCR)
    with op.batch_alter_table("force_events", schema=None) as batch_op:
        _recheck(batch_op, "force_events", "subject_race", US_RACE)
        _recheck(batch_op, "force_events", "subject_age_band", US_AGE)
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_stops_subject_self_defined_ethnicity_code"), type_="check"
        )
        batch_op.drop_column("subject_self_defined_ethnicity")
        _recheck(batch_op, "stops", "subject_race", US_RACE)
        _recheck(batch_op, "stops", "subject_age_band", US_AGE)
        _recheck(batch_op, "stops", "outcome", US_OUTCOMES)
