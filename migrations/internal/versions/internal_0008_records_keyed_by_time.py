"""records keyed by time, stored in time order on SQLite

Revision ID: internal_0008
Revises: internal_0007
Create Date: 2026-12-04 13:40:00.000000

A release reads one period. Records were kept in the order they were written, with an
index on time, so a period of a file in no time order lay all over the table. Each records
table is now keyed by (occurred_at, source, source_id); on SQLite it is a WITHOUT ROWID
table, stored in the key's order, so a period's records lie together. The integer id, which
ingest used for the order of writing, becomes ``batch_line``: the line of the batch's file
a record came from (for the records already stored, their order of writing, which is all
ingest asks of it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "internal_0008"
down_revision: str | Sequence[str] | None = "internal_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("stops", "incidents", "force_events")
KEY = ["occurred_at", "source", "source_id"]
SQLITE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgres:
            op.drop_index(f"ix_{table}_occurred_at", table_name=table)
            op.drop_constraint(op.f(f"pk_{table}"), table, type_="primary")
            op.alter_column(table, "id", new_column_name="batch_line", server_default=None)
            op.execute(f"DROP SEQUENCE IF EXISTS {table}_id_seq")
            op.create_primary_key(op.f(f"pk_{table}"), table, KEY)
            continue
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ) as batch_op:
            batch_op.drop_index(f"ix_{table}_occurred_at")
            batch_op.alter_column(
                "id",
                new_column_name="batch_line",
                existing_type=SQLITE_ID,
                type_=sa.BigInteger(),
                autoincrement=False,
                existing_nullable=False,
            )
            batch_op.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch_op.create_primary_key(op.f(f"pk_{table}"), KEY)


def downgrade() -> None:
    """Downgrade schema: an integer id again (on SQLite in order of time, on PostgreSQL
    in the order the rows are stored)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgres:
            op.drop_constraint(op.f(f"pk_{table}"), table, type_="primary")
            op.drop_column(table, "batch_line")
            op.execute(f"ALTER TABLE {table} ADD COLUMN id BIGSERIAL")
            op.create_primary_key(op.f(f"pk_{table}"), table, ["id"])
            op.create_index(f"ix_{table}_occurred_at", table, ["occurred_at"])
            continue
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": True}
        ) as batch_op:
            batch_op.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch_op.drop_column("batch_line")
            # Not copied from the old table, so SQLite numbers the rows itself.
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False))
            batch_op.create_primary_key(op.f(f"pk_{table}"), ["id"])
            batch_op.create_index(f"ix_{table}_occurred_at", ["occurred_at"])
