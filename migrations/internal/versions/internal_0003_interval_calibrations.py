"""interval calibrations

Revision ID: internal_0003
Revises: internal_0002
Create Date: 2026-11-30 09:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "internal_0003"
down_revision: str | Sequence[str] | None = "internal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "interval_calibrations",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("half_widths", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_interval_calibrations")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("interval_calibrations")
