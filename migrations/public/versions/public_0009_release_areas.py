"""the declared areas frozen with each release (its areas.csv); areas by race

Revision ID: public_0009
Revises: public_0008
Create Date: 2026-12-03 22:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0009"
down_revision: str | Sequence[str] | None = "public_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema. Releases written before have no snapshot: their files stay as they
    were (a release's files never change), without an areas resource."""
    op.create_table(
        "release_areas",
        sa.Column("release_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_areas_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_release_areas")),
    )
    # A plain ADD COLUMN (not a batch copy, which on SQLite would drop the table's triggers).
    op.add_column("areas", sa.Column("population_by_race", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # Plain DROP COLUMN (SQLite 3.35 and later): a batch copy would drop the triggers.
    op.execute("ALTER TABLE areas DROP COLUMN population_by_race")
    op.drop_table("release_areas")
