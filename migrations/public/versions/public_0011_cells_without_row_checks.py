"""release cells without a foreign key to their table, checked row by row

Revision ID: public_0011
Revises: public_0010
Create Date: 2026-12-05 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0011"
down_revision: str | Sequence[str] | None = "public_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_release_cells_release_id_release_tables"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("release_cells", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FOREIGN_KEY,
            "release_tables",
            ["release_id", "table_name"],
            ["release_id", "name"],
            ondelete="CASCADE",
        )
