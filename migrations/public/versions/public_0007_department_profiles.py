"""department profiles, structural zeros

Revision ID: public_0007
Revises: public_0006
Create Date: 2026-12-03 14:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0007"
down_revision: str | Sequence[str] | None = "public_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "department_profiles",
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_department_profiles")),
    )
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("structural", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.drop_column("structural")
    op.drop_table("department_profiles")
