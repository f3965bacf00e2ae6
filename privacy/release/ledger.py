"""The budget ledger: every spend of privacy budget, committed before any noise is drawn.

A charge is all or nothing and runs in a transaction of its own that holds the period's
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the period's row ``FOR UPDATE``), so
concurrent releases against one period queue up and the sum of their charges can never
pass the cap. The caller commits to drawing noise only after :func:`charge_budget` returns:
a crash after that leaves the spend recorded, never a hidden draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, text

from privacy.store.audit import default_actor, record_audit, utc_now
from privacy.store.models import BudgetCharge, BudgetPeriod

# Charges are floats; sums may carry rounding error in the last bits.
RHO_TOLERANCE = 1e-12


class BudgetExceeded(Exception):
    """A release that would overspend its period; nothing was charged."""


@dataclass(frozen=True)
class Charge:
    """One table's share of a release: how its noise is calibrated and what it costs."""

    table_name: str
    mechanism: str
    sensitivity: float
    noise_scale: float
    rho: float
    epsilon_shown: float
    delta_shown: float


@dataclass(frozen=True)
class ChargeRequest:
    """Everything a release asks of the ledger."""

    release_id: str
    period: str
    policy_name: str
    policy_sha256: str
    rho_cap: float  # the policy's budget for a period; binding only for the first release
    unit: str
    window_start: datetime
    window_end: datetime
    charges: tuple[Charge, ...]
    actor: str | None = None

    @property
    def rho(self) -> float:
        """The total rho asked for."""
        return math.fsum(c.rho for c in self.charges)


@dataclass(frozen=True)
class PeriodBudget:
    """A period's cap, what has been spent and what remains (zCDP rho)."""

    period: str
    rho_cap: float
    rho_spent: float
    charges: int

    @property
    def rho_remaining(self) -> float:
        """What is left to spend, never below zero."""
        return max(0.0, self.rho_cap - self.rho_spent)


def charge_budget(engine: Engine, request: ChargeRequest) -> PeriodBudget:
    """Record every charge of ``request`` and commit, or refuse it whole.

    Raises :class:`BudgetExceeded` (nothing recorded) when the period's cap would be passed.
    Returns the period's budget after the charge.
    """
    if not request.charges or any(c.rho <= 0 or not math.isfinite(c.rho) for c in request.charges):
        raise ValueError("a charge request needs charges, each with a positive, finite rho")
    with engine.connect() as connection:
        _lock_period(connection, request)
        cap, spent, count = _period_state(connection, request.period)
        if spent + request.rho > cap + RHO_TOLERANCE:
            connection.rollback()
            raise BudgetExceeded(_refusal(request, cap, spent, count))
        now = utc_now()
        actor = request.actor or default_actor()
        connection.execute(
            insert(BudgetCharge),
            [
                {
                    "period": request.period,
                    "release_id": request.release_id,
                    "policy_name": request.policy_name,
                    "policy_sha256": request.policy_sha256,
                    "table_name": c.table_name,
                    "unit": request.unit,
                    "mechanism": c.mechanism,
                    "sensitivity": c.sensitivity,
                    "noise_scale": c.noise_scale,
                    "rho": c.rho,
                    "epsilon_shown": c.epsilon_shown,
                    "delta_shown": c.delta_shown,
                    "window_start": request.window_start,
                    "window_end": request.window_end,
                    "actor": actor,
                    "charged_at": now,
                }
                for c in request.charges
            ],
        )
        record_audit(
            connection,
            actor,
            "charge_budget",
            {
                "release_id": request.release_id,
                "period": request.period,
                "rho": request.rho,
                "tables": len(request.charges),
            },
        )
        connection.commit()
    return PeriodBudget(request.period, cap, spent + request.rho, count + len(request.charges))


def _lock_period(connection: Connection, request: ChargeRequest) -> None:
    """Take the period's lock for this transaction, creating the period on first use."""
    if connection.dialect.name == "sqlite":
        # The write lock now, before reading what was spent: no other charge can commit
        # between that read and this charge. Waits up to the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    exists = select(BudgetPeriod.period).where(BudgetPeriod.period == request.period)
    if connection.execute(exists).first() is None:
        statement = (
            "INSERT INTO budget_periods (period, rho_cap, policy_name, created_at) "
            "VALUES (:period, :cap, :policy, :now) ON CONFLICT (period) DO NOTHING"
        )
        connection.execute(
            text(statement),
            {
                "period": request.period,
                "cap": request.rho_cap,
                "policy": request.policy_name,
                "now": utc_now(),
            },
        )
    if connection.dialect.name == "postgresql":
        connection.execute(exists.with_for_update())


def _period_state(connection: Connection, period: str) -> tuple[float, float, int]:
    cap = connection.execute(
        select(BudgetPeriod.rho_cap).where(BudgetPeriod.period == period)
    ).scalar_one()
    rhos = (
        connection.execute(select(BudgetCharge.rho).where(BudgetCharge.period == period))
        .scalars()
        .all()
    )
    return float(cap), math.fsum(rhos), len(rhos)


def _refusal(request: ChargeRequest, cap: float, spent: float, count: int) -> str:
    remaining = max(0.0, cap - spent)
    return (
        f"release {request.release_id} asks for rho={request.rho:.6g} of "
        f"{request.period}'s budget, but only rho={remaining:.6g} of its rho={cap:.6g} "
        f"remains ({count} earlier charge(s) spent rho={spent:.6g}). Nothing was charged "
        "and no noise was drawn. To publish, release fewer tables or lower the policy's "
        "budget.rho so that the release asks for at most what remains; a period's cap is "
        "fixed by its first release and cannot be raised."
    )


def period_budgets(engine: Engine, periods: Sequence[str] | None = None) -> list[PeriodBudget]:
    """Cap, spent and remaining rho of every period (or of ``periods``), oldest first."""
    spent = (
        select(
            BudgetCharge.period, func.count().label("n"), func.sum(BudgetCharge.rho).label("rho")
        )
        .group_by(BudgetCharge.period)
        .subquery()
    )
    query = (
        select(BudgetPeriod.period, BudgetPeriod.rho_cap, spent.c.rho, spent.c.n)
        .outerjoin(spent, spent.c.period == BudgetPeriod.period)
        .order_by(BudgetPeriod.period)
    )
    if periods is not None:
        query = query.where(BudgetPeriod.period.in_(list(periods)))
    with engine.connect() as connection:
        return [
            PeriodBudget(period, float(cap), float(rho or 0.0), int(n or 0))
            for period, cap, rho, n in connection.execute(query)
        ]
