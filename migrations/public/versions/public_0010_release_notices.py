"""release notices: a release superseded or withdrawn, with the reason and the day

Revision ID: public_0010
Revises: public_0009
Create Date: 2026-12-04 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0010"
down_revision: str | Sequence[str] | None = "public_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE public_revision SET revision = revision + 1 WHERE id = 1"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "release_notices",
        sa.Column("release_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("replaced_by", sa.String(length=64), nullable=True),
        sa.Column("noticed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('superseded', 'withdrawn')", name=op.f("ck_release_notices_status_code")
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_notices_release_id_releases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by"],
            ["releases.id"],
            name=op.f("fk_release_notices_replaced_by_releases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_release_notices")),
    )
    # The site re-reads its catalog when the public revision moves (public_0008).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER release_notices_bumps_revision AFTER INSERT OR UPDATE OR DELETE "
            "ON release_notices FOR EACH STATEMENT EXECUTE FUNCTION bump_public_revision()"
        )
        return
    for event in EVENTS:
        op.execute(
            f"CREATE TRIGGER release_notices_{event.lower()}_bumps_revision AFTER {event} "
            f"ON release_notices BEGIN {BUMP}; END"
        )


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER release_notices_bumps_revision ON release_notices")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER release_notices_{event.lower()}_bumps_revision")
    op.drop_table("release_notices")
