"""budget in the policy's currency, person-unit horizons, charges by source

Revision ID: internal_0004
Revises: internal_0003
Create Date: 2026-12-03 09:00:00.000000

A period kept its cap as zCDP rho even under a pure-DP policy, so several pure-DP releases
could each state epsilon and together exceed it. Periods now count in their policy's
currency. An existing period whose charges are all pure DP becomes an epsilon period with
the epsilon its cap stood for (its charges' epsilons then add up, which may show that it
was overspent before); any other keeps rho. A period's unit is read from its charges.
"""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "internal_0004"
down_revision: str | Sequence[str] | None = "internal_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "budget_horizons",
        sa.Column("horizon", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("cap", sa.Float(), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("cap > 0", name=op.f("ck_budget_horizons_cap_positive")),
        sa.CheckConstraint(
            "currency = 'rho' OR currency = 'epsilon'",
            name=op.f("ck_budget_horizons_currency_code"),
        ),
        sa.CheckConstraint(
            "kind = 'year' OR kind = 'portal'", name=op.f("ck_budget_horizons_kind_code")
        ),
        sa.PrimaryKeyConstraint("horizon", name=op.f("pk_budget_horizons")),
    )
    with op.batch_alter_table("budget_charges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("horizon", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("epsilon", sa.Float(), nullable=True))
        batch_op.create_index("ix_budget_charges_horizon", ["horizon"], unique=False)
    op.execute("UPDATE budget_charges SET epsilon = epsilon_shown WHERE mechanism = 'laplace'")
    with op.batch_alter_table("budget_periods", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_budget_periods_rho_cap_positive"), type_="check")
        batch_op.add_column(
            sa.Column("currency", sa.String(length=8), nullable=False, server_default="rho")
        )
        batch_op.add_column(
            sa.Column("unit_kind", sa.String(length=8), nullable=False, server_default="record")
        )
        batch_op.alter_column("rho_cap", new_column_name="cap")
    _backfill_periods()
    with op.batch_alter_table("budget_periods", schema=None) as batch_op:
        batch_op.alter_column("currency", server_default=None)
        batch_op.alter_column("unit_kind", server_default=None)
        batch_op.create_check_constraint(op.f("ck_budget_periods_cap_positive"), "cap > 0")
        batch_op.create_check_constraint(
            op.f("ck_budget_periods_currency_code"), "currency = 'rho' OR currency = 'epsilon'"
        )
        batch_op.create_check_constraint(
            op.f("ck_budget_periods_unit_kind_code"), "unit_kind = 'record' OR unit_kind = 'person'"
        )


def _backfill_periods() -> None:
    connection = op.get_bind()
    periods = connection.execute(sa.text("SELECT period, cap FROM budget_periods")).all()
    for period, cap in periods:
        mechanisms = set(
            connection.execute(
                sa.text("SELECT DISTINCT mechanism FROM budget_charges WHERE period = :p"),
                {"p": period},
            ).scalars()
        )
        person = connection.execute(
            sa.text("SELECT 1 FROM budget_charges WHERE period = :p AND unit LIKE 'one person%'"),
            {"p": period},
        ).first()
        values = {"p": period, "unit": "person" if person else "record"}
        if mechanisms == {"laplace"}:
            # The cap stood for epsilon^2 / 2: count it, and the charges, in epsilon.
            values |= {"currency": "epsilon", "cap": math.sqrt(2.0 * float(cap))}
        else:
            values |= {"currency": "rho", "cap": float(cap)}
        connection.execute(
            sa.text(
                "UPDATE budget_periods SET currency = :currency, cap = :cap, "
                "unit_kind = :unit WHERE period = :p"
            ),
            values,
        )


def downgrade() -> None:
    """Downgrade schema: periods back to a rho cap (an epsilon cap becomes epsilon^2 / 2)."""
    op.execute("UPDATE budget_periods SET cap = cap * cap / 2 WHERE currency = 'epsilon'")
    with op.batch_alter_table("budget_periods", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_budget_periods_unit_kind_code"), type_="check")
        batch_op.drop_constraint(op.f("ck_budget_periods_currency_code"), type_="check")
        batch_op.drop_constraint(op.f("ck_budget_periods_cap_positive"), type_="check")
        batch_op.alter_column("cap", new_column_name="rho_cap")
        batch_op.drop_column("unit_kind")
        batch_op.drop_column("currency")
    with op.batch_alter_table("budget_periods", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_budget_periods_rho_cap_positive"), "rho_cap > 0")
    with op.batch_alter_table("budget_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_charges_horizon")
        batch_op.drop_column("epsilon")
        batch_op.drop_column("source")
        batch_op.drop_column("horizon")
    op.drop_table("budget_horizons")
