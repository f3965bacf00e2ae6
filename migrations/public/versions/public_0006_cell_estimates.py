"""cell estimates

Revision ID: public_0006
Revises: public_0005
Create Date: 2026-12-03 13:00:00.000000

Each published cell keeps the unbiased least-squares estimate its integer was rounded from,
so that sums, rates and changes can be computed without the lean of rounding.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0006"
down_revision: str | Sequence[str] | None = "public_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate", sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.drop_column("estimate")
