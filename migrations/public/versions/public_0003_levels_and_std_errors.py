"""levels and standard errors

A release table may be a coarser level of a policy table (``level_of``), and each cell
keeps the standard error of the consistent estimate it was rounded from. Releases written
before this revision have neither (NULL).

Revision ID: public_0003
Revises: public_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "public_0003"
down_revision: str | Sequence[str] | None = "public_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("release_tables") as batch:
        batch.add_column(sa.Column("level_of", sa.String(length=128), nullable=True))
    with op.batch_alter_table("release_cells") as batch:
        batch.add_column(sa.Column("std_error", sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("release_cells") as batch:
        batch.drop_column("std_error")
    with op.batch_alter_table("release_tables") as batch:
        batch.drop_column("level_of")
