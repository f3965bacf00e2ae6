"""a revision of the public store, bumped by the database on every public write

Revision ID: public_0008
Revises: public_0007
Create Date: 2026-12-03 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "public_0008"
down_revision: str | Sequence[str] | None = "public_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose content a page, a file or a report shows. A write to any of them, by
# the portal or by hand, bumps the revision: the site re-reads the catalog when it moves.
WATCHED = (
    "areas",
    "focus_areas",
    "focus_area_beats",
    "releases",
    "release_tables",
    "artifacts",
    "privacy_audits",
    "department_profiles",
)
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE public_revision SET revision = revision + 1 WHERE id = 1"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "public_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_public_revision_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_revision")),
    )
    op.execute("INSERT INTO public_revision (id, revision) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_public_revision() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_revision AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_public_revision()"
            )
        return
    for table in WATCHED:  # SQLite triggers fire per row
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_bumps_revision AFTER {event} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_bumps_revision ON {table}")
        op.execute("DROP FUNCTION bump_public_revision()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event.lower()}_bumps_revision")
    op.drop_table("public_revision")
