"""the referral outcome

Revision ID: internal_0005
Revises: internal_0004
Create Date: 2026-12-03 12:40:00.000000

Real exports record stops that ended in a referral (for prosecution, or to another agency)
without an arrest, which the outcome vocabulary had no code for. The stops table's check on
its outcome codes gains ``referral``.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "internal_0005"
down_revision: str | Sequence[str] | None = "internal_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("none", "warning", "citation", "summons", "arrest", "unknown")
AFTER = ("none", "warning", "citation", "summons", "referral", "arrest", "unknown")


def _codes(codes: tuple[str, ...]) -> str:
    return " OR ".join(f"outcome = '{code}'" for code in codes)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stops_outcome_code"), type_="check")
        batch_op.create_check_constraint(op.f("ck_stops_outcome_code"), _codes(AFTER))


def downgrade() -> None:
    """Downgrade schema (fails while a stop has the referral outcome)."""
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stops_outcome_code"), type_="check")
        batch_op.create_check_constraint(op.f("ck_stops_outcome_code"), _codes(BEFORE))
