"""privacy audits

Revision ID: public_0005
Revises: public_0004
Create Date: 2026-12-03 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0005"
down_revision: str | Sequence[str] | None = "public_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "privacy_audits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.Column("policy_sha256", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("unit", sa.String(length=256), nullable=False),
        sa.Column("mechanism", sa.String(length=16), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("claimed_epsilon", sa.Float(), nullable=False),
        sa.Column("release_epsilon", sa.Float(), nullable=False),
        sa.Column("epsilon_lower_bound", sa.Float(), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_audits")),
    )
    with op.batch_alter_table("privacy_audits", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_audits_policy_sha256", ["policy_sha256"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("privacy_audits", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_audits_policy_sha256")
    op.drop_table("privacy_audits")
