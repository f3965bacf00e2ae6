"""The budget ledger: every spend of privacy budget, committed before any noise is drawn.

The ledger speaks the policy's own currency. A zCDP policy's releases add up their rhos; a
pure-DP policy's add up their epsilons. A period's currency, cap and privacy unit are
fixed by its first release. A pure-DP charge may go to a rho period (epsilon-DP implies
epsilon^2 / 2-zCDP); a zCDP charge can never go to an epsilon period.

A person-unit policy also charges its horizon (a calendar year, or the life of the portal),
whose cap bounds what every release in it spends together: a person's records fall in many
quarters. Under the record unit each record falls in one quarter, so the quarter's cap is
all any record ever spends.

A charge is all or nothing and runs in a transaction of its own that holds the locks of
every account it spends from (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the horizon's and
the period's rows ``FOR UPDATE``, in that order), so concurrent releases queue up: the sum
of their charges can never pass a cap, and two releases of one period under one policy
cannot both pass the duplicate guard. The caller draws noise only after
:func:`charge_budget` returns: a crash after that leaves the spend recorded, never a hidden
draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, insert, select, text, true

from privacy.release.composition import parallel_sum
from privacy.release.policy import Currency, Horizon
from privacy.store.audit import default_actor, record_audit, utc_now
from privacy.store.models import BudgetCharge, BudgetHorizon, BudgetPeriod

# Charges are floats, each OpenDP's privacy map of its share (which may exceed the share by
# float rounding, see privacy.release.noise.MAP_TOLERANCE); their sum may pass a cap by as
# much, relative to the cap, and no more.
TOLERANCE = 1e-12
RELATIVE_TOLERANCE = 1e-9


def within(total: float, cap: float) -> bool:
    """Whether ``total`` spent fits under ``cap``, up to float rounding."""
    return total <= cap + max(TOLERANCE, cap * RELATIVE_TOLERANCE)


class ChargeRefused(Exception):
    """A charge the ledger did not record; nothing was charged and no noise was drawn."""


class BudgetExceeded(ChargeRefused):
    """A release that would overspend its period or its horizon."""


class LedgerConflict(ChargeRefused):
    """A release whose currency, unit or horizon differs from what its period or horizon
    was fixed to by an earlier release."""


class AlreadyCharged(ChargeRefused):
    """A period already charged under the same policy, asked again without ``rerelease``."""

    def __init__(self, message: str, earlier: tuple[EarlierCharge, ...]) -> None:
        super().__init__(message)
        self.earlier = earlier


@dataclass(frozen=True)
class EarlierCharge:
    """A release key that already spent a period's budget under a policy, and when."""

    release_key: str
    charged_at: datetime


@dataclass(frozen=True)
class Charge:
    """One table's share of a release: how its noise is calibrated and what it costs.

    ``rho`` is always its zCDP cost; ``epsilon`` is its pure-DP cost, for a Laplace
    measurement only (``None`` for a Gaussian one, which has no pure-DP epsilon)."""

    table_name: str
    source: str
    mechanism: str
    sensitivity: float
    noise_scale: float
    rho: float
    epsilon: float | None
    epsilon_shown: float
    delta_shown: float


@dataclass(frozen=True)
class ChargeRequest:
    """Everything a release asks of the ledger."""

    release_id: str
    period: str
    policy_name: str
    policy_sha256: str
    currency: Currency  # the policy's
    cap: float  # the policy's budget for a period; binding only for the first release
    unit_kind: str  # "record" or "person"
    unit: str  # the unit in words
    window_start: datetime
    window_end: datetime
    charges: tuple[Charge, ...]
    horizon: str | None = None  # the horizon account, for a person unit
    horizon_kind: Horizon | None = None
    horizon_cap: float | None = None
    rerelease: bool = False
    actor: str | None = None

    def amount(self, currency: Currency) -> float:
        """What the request spends in all, counted in ``currency``."""
        return math.fsum(_cost(c, currency) for c in self.charges)

    def by_source(self, currency: Currency) -> dict[str | None, float]:
        """What the request spends from each source's share, counted in ``currency``."""
        amounts: dict[str | None, float] = {}
        for charge in self.charges:
            amounts[charge.source] = amounts.get(charge.source, 0.0) + _cost(charge, currency)
        return amounts


@dataclass(frozen=True)
class PeriodBudget:
    """A period's cap, what has been spent and what remains, in the period's currency.

    Under the record unit the sources spend in parallel (no record is both a stop and an
    incident): ``spent`` is the largest of any one source's spend, ``by_source`` each one.
    Under the person unit (a person may appear in several sources) ``spent`` is the sum."""

    period: str
    currency: Currency
    cap: float
    spent: float
    charges: int
    unit_kind: str = "record"
    by_source: tuple[tuple[str | None, float], ...] = ()

    @property
    def remaining(self) -> float:
        """What is left to spend, never below zero (for each source, under the record
        unit, what the busiest source has left)."""
        return max(0.0, self.cap - self.spent)

    def after(self, amounts: dict[str | None, float], charges: int) -> PeriodBudget:
        """The budget once ``amounts`` (by source) more are spent in ``charges`` charges."""
        by_source = dict(self.by_source)
        for source, amount in amounts.items():
            by_source[source] = by_source.get(source, 0.0) + amount
        parallel = self.unit_kind == "record"
        spent = parallel_sum(list(by_source.values()), list(by_source) if parallel else None)
        return replace(
            self,
            spent=spent,
            charges=self.charges + charges,
            by_source=tuple(sorted(by_source.items(), key=lambda kv: str(kv[0]))),
        )


@dataclass(frozen=True)
class HorizonBudget:
    """A person-unit horizon's cap, what its releases spent and what remains."""

    horizon: str
    kind: str
    currency: Currency
    cap: float
    spent: float
    charges: int

    @property
    def remaining(self) -> float:
        """What is left to spend, never below zero."""
        return max(0.0, self.cap - self.spent)


@dataclass(frozen=True)
class Receipt:
    """What a committed charge left: its period's budget and, for a person unit, its
    horizon's."""

    period: PeriodBudget
    horizon: HorizonBudget | None


def _cost(charge: Charge, currency: Currency) -> float:
    if currency == "rho":
        return charge.rho
    if charge.epsilon is None:
        raise ValueError(f"table {charge.table_name}: a zCDP charge has no pure-DP epsilon")
    return charge.epsilon


def charge_budget(engine: Engine, request: ChargeRequest) -> Receipt:
    """Record every charge of ``request`` and commit, or refuse it whole.

    Raises :class:`AlreadyCharged` when the period was charged under the same policy and
    ``rerelease`` is not set, :class:`LedgerConflict` when the period or horizon counts in
    another currency or unit, and :class:`BudgetExceeded` when a cap would be passed; in
    each case nothing is recorded. Returns the period's (and horizon's) budget after it.
    """
    _check_request(request)
    with engine.connect() as connection:
        period, horizon = _lock_accounts(connection, request)
        problem = _problem(connection, request, period, horizon)
        if problem is not None:
            connection.rollback()
            raise problem
        now, actor = utc_now(), request.actor or default_actor()
        connection.execute(
            insert(BudgetCharge),
            [
                {
                    "period": request.period,
                    "horizon": request.horizon,
                    "release_id": request.release_id,
                    "policy_name": request.policy_name,
                    "policy_sha256": request.policy_sha256,
                    "table_name": c.table_name,
                    "source": c.source,
                    "unit": request.unit,
                    "mechanism": c.mechanism,
                    "sensitivity": c.sensitivity,
                    "noise_scale": c.noise_scale,
                    "rho": c.rho,
                    "epsilon": c.epsilon,
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
        after = period.after(request.by_source(period.currency), len(request.charges))
        record_audit(
            connection,
            actor,
            "charge_budget",
            {
                "release_id": request.release_id,
                "period": request.period,
                "horizon": request.horizon,
                "currency": period.currency,
                "amount": after.spent - period.spent,
                "tables": len(request.charges),
            },
        )
        connection.commit()
    if horizon is None:
        return Receipt(after, None)
    horizon_after = HorizonBudget(
        horizon.horizon,
        horizon.kind,
        horizon.currency,
        horizon.cap,
        horizon.spent + request.amount(horizon.currency),
        horizon.charges + len(request.charges),
    )
    return Receipt(after, horizon_after)


@dataclass(frozen=True)
class Preview:
    """What the ledger would say to a charge now, without recording anything: the period's
    and horizon's budgets before it, and the refusal it would meet, if any."""

    period: PeriodBudget
    horizon: HorizonBudget | None
    refusal: ChargeRefused | None


def preview_charge(engine: Engine, request: ChargeRequest) -> Preview:
    """Apply every test of :func:`charge_budget` to ``request`` and record nothing (no lock
    is taken, so a concurrent release may still change the answer)."""
    _check_request(request)
    with engine.connect() as connection:
        period = _period_state(connection, request.period, missing=_new_period(request))
        horizon = (
            _horizon_state(connection, request.horizon, missing=_new_horizon(request))
            if request.horizon
            else None
        )
        return Preview(period, horizon, _problem(connection, request, period, horizon))


def _new_period(request: ChargeRequest) -> PeriodBudget:
    return PeriodBudget(request.period, request.currency, request.cap, 0.0, 0, request.unit_kind)


def _new_horizon(request: ChargeRequest) -> HorizonBudget:
    assert request.horizon is not None and request.horizon_kind is not None
    assert request.horizon_cap is not None
    return HorizonBudget(
        request.horizon, request.horizon_kind, request.currency, request.horizon_cap, 0.0, 0
    )


def _problem(
    connection: Connection,
    request: ChargeRequest,
    period: PeriodBudget,
    horizon: HorizonBudget | None,
) -> ChargeRefused | None:
    """The first reason to refuse ``request``, in the order a person should hear them."""
    if not request.rerelease:
        earlier = _earlier_charges(connection, request.period, request.policy_sha256)
        if earlier:
            return AlreadyCharged(_repeat(request, earlier), earlier)
    return (
        _conflict(request, period, horizon)
        or _mixed_units(connection, request)
        or _overspend(request, period, horizon)
    )


def _check_request(request: ChargeRequest) -> None:
    if not request.charges or any(c.rho <= 0 or not math.isfinite(c.rho) for c in request.charges):
        raise ValueError("a charge request needs charges, each with a positive, finite rho")
    if request.unit_kind == "person" and (request.horizon is None or request.horizon_cap is None):
        raise ValueError("a person-unit charge needs its horizon and the horizon's cap")
    request.amount(request.currency)  # a zCDP charge in an epsilon request raises here


def _lock_accounts(
    connection: Connection, request: ChargeRequest
) -> tuple[PeriodBudget, HorizonBudget | None]:
    """Take the locks of the request's horizon and period for this transaction (creating
    each on first use, fixed to the request's currency, cap and unit), then read them."""
    if connection.dialect.name == "sqlite":
        # The write lock now, before reading what was spent: no other charge can commit
        # between that read and this charge. Waits up to the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    now = utc_now()
    if request.horizon is not None:
        _create(
            connection,
            BudgetHorizon.__table__,  # type: ignore[arg-type]
            "horizon",
            {
                "horizon": request.horizon,
                "kind": request.horizon_kind,
                "currency": request.currency,
                "cap": request.horizon_cap,
                "policy_name": request.policy_name,
                "created_at": now,
            },
        )
    _create(
        connection,
        BudgetPeriod.__table__,  # type: ignore[arg-type]
        "period",
        {
            "period": request.period,
            "currency": request.currency,
            "cap": request.cap,
            "unit_kind": request.unit_kind,
            "policy_name": request.policy_name,
            "created_at": now,
        },
    )
    lock = connection.dialect.name == "postgresql"
    horizon = _horizon_state(connection, request.horizon, lock) if request.horizon else None
    return _period_state(connection, request.period, lock), horizon


def _create(connection: Connection, table: Table, key: str, values: dict[str, object]) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    statement = (
        f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING"
    )
    connection.execute(text(statement), values)


def _period_state(
    connection: Connection,
    period: str,
    lock: bool = False,
    missing: PeriodBudget | None = None,
) -> PeriodBudget:
    query = select(BudgetPeriod.currency, BudgetPeriod.cap, BudgetPeriod.unit_kind).where(
        BudgetPeriod.period == period
    )
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None and missing is not None:
        return missing
    if row is None:
        raise LookupError(f"the ledger has no period {period}")
    currency, cap, unit_kind = _currency(row[0]), row[1], row[2]
    by_source, count = _spent_by_source(connection, BudgetCharge.period == period, currency)
    empty = PeriodBudget(period, currency, float(cap), 0.0, 0, unit_kind)
    return empty.after(by_source, count)


def _horizon_state(
    connection: Connection,
    horizon: str,
    lock: bool = False,
    missing: HorizonBudget | None = None,
) -> HorizonBudget:
    query = select(BudgetHorizon.kind, BudgetHorizon.currency, BudgetHorizon.cap).where(
        BudgetHorizon.horizon == horizon
    )
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None and missing is not None:
        return missing
    if row is None:
        raise LookupError(f"the ledger has no horizon {horizon}")
    kind, currency, cap = row[0], _currency(row[1]), row[2]
    by_source, count = _spent_by_source(connection, BudgetCharge.horizon == horizon, currency)
    return HorizonBudget(horizon, kind, currency, float(cap), math.fsum(by_source.values()), count)


def _currency(value: str) -> Currency:
    if value not in ("rho", "epsilon"):
        raise ValueError(f"the ledger holds an unknown currency {value!r}")
    return "rho" if value == "rho" else "epsilon"


def _spent_by_source(
    connection: Connection, where: object, currency: Currency
) -> tuple[dict[str | None, float], int]:
    """Each source's spend and the number of charges (a charge recorded before sources
    were is of source None, which counts against every source)."""
    column = BudgetCharge.rho if currency == "rho" else BudgetCharge.epsilon
    rows = connection.execute(select(BudgetCharge.source, column).where(where)).all()  # type: ignore[arg-type]
    by_source: dict[str | None, list[float]] = {}
    for source, amount in rows:
        # An epsilon account only ever receives pure-DP charges, which all carry an epsilon.
        if amount is not None:
            by_source.setdefault(source, []).append(float(amount))
    return {source: math.fsum(values) for source, values in by_source.items()}, len(rows)


def _earlier_charges(
    connection: Connection, period: str, policy_sha256: str
) -> tuple[EarlierCharge, ...]:
    rows = connection.execute(
        select(BudgetCharge.release_id, BudgetCharge.charged_at)
        .where(BudgetCharge.period == period, BudgetCharge.policy_sha256 == policy_sha256)
        .distinct()
        .order_by(BudgetCharge.charged_at, BudgetCharge.release_id)
    ).all()
    return tuple(EarlierCharge(key, at) for key, at in rows)


def earlier_charges(engine: Engine, period: str, policy_sha256: str) -> tuple[EarlierCharge, ...]:
    """The release keys that already charged ``period`` under the policy with that hash."""
    with engine.connect() as connection:
        return _earlier_charges(connection, period, policy_sha256)


def _conflict(
    request: ChargeRequest, period: PeriodBudget, horizon: HorizonBudget | None
) -> LedgerConflict | None:
    where = f"{request.period} (fixed by its first release)"
    if period.unit_kind != request.unit_kind:
        return LedgerConflict(
            f"{where} protects one {period.unit_kind}, and this policy one "
            f"{request.unit_kind}: one period cannot mix the two, since a record-unit release "
            "bounds nothing about a person. Release this period under a policy with the "
            f"{period.unit_kind} unit."
        )
    if period.currency == "epsilon" and request.currency == "rho":
        return LedgerConflict(
            f"{where} counts pure-DP epsilon, and this policy spends zCDP rho, which has no "
            "pure-DP epsilon: release this period under a pure-DP (laplace) policy."
        )
    if horizon is not None and horizon.currency == "epsilon" and request.currency == "rho":
        return LedgerConflict(
            f"the horizon {horizon.horizon} counts pure-DP epsilon, and this policy spends zCDP "
            "rho: release it under a pure-DP (laplace) policy."
        )
    if horizon is not None and horizon.kind != request.horizon_kind:
        return LedgerConflict(
            f"the person unit's horizon was fixed as {horizon.kind!r} by the first release, "
            f"and this policy declares {request.horizon_kind!r}: keep one horizon."
        )
    return None


def _mixed_units(connection: Connection, request: ChargeRequest) -> LedgerConflict | None:
    """A person-unit horizon promises a bound on everything released about a person in it,
    which a record-unit release inside it would break: the two are kept apart."""
    year = request.period[:4]
    if request.unit_kind == "record":
        covering = connection.execute(
            select(BudgetHorizon.horizon).where(
                BudgetHorizon.horizon.in_(["portal", f"year {year}"])
            )
        ).first()
        if covering is None:
            return None
        return LedgerConflict(
            f"{request.period} lies in the person unit's horizon {covering[0]}, which bounds "
            "everything released about a person in it; a record-unit release there would "
            "break that bound. Release it under the person-unit policy."
        )
    span = BudgetPeriod.period.like(f"{year}%") if request.horizon_kind == "year" else true()
    record_period = connection.execute(
        select(BudgetPeriod.period).where(span, BudgetPeriod.unit_kind == "record").limit(1)
    ).first()
    if record_period is None:
        return None
    return LedgerConflict(
        f"{record_period[0]} was released under the record unit and lies in the horizon "
        f"{request.horizon}, so no person-unit bound can hold over it: declare a horizon that "
        "does not cover record-unit releases, or keep the record unit."
    )


def _overspend(
    request: ChargeRequest, period: PeriodBudget, horizon: HorizonBudget | None
) -> BudgetExceeded | None:
    after = period.after(request.by_source(period.currency), len(request.charges))
    if not within(after.spent, period.cap):
        asked = after.spent - period.spent
        parallel = (
            " (under the record unit each source spends the cap on its own, since no record "
            "is of two sources; the busiest source is what counts)"
            if period.unit_kind == "record"
            else ""
        )
        return BudgetExceeded(
            f"release {request.release_id} asks for {period.currency}={asked:.6g} of "
            f"{request.period}'s budget, but only {period.currency}={period.remaining:.6g} "
            f"of its {period.currency}={period.cap:.6g} remains ({period.charges} earlier "
            f"charge(s) spent {period.currency}={period.spent:.6g}){parallel}. Nothing was "
            "charged and no noise was drawn. To publish, release fewer tables or lower the "
            "policy's budget so that the release asks for at most what remains; a period's "
            "cap is fixed by its first release and cannot be raised."
        )
    if horizon is not None:
        asked = request.amount(horizon.currency)
        if not within(horizon.spent + asked, horizon.cap):
            return BudgetExceeded(
                f"release {request.release_id} asks for {horizon.currency}={asked:.6g} of "
                f"the person unit's budget for {horizon.horizon}, but only "
                f"{horizon.currency}={horizon.remaining:.6g} of its "
                f"{horizon.currency}={horizon.cap:.6g} remains: every release in a horizon "
                "spends from one cap, because a person's records fall in many quarters. "
                "Nothing was charged and no noise was drawn."
            )
    return None


def _repeat(request: ChargeRequest, earlier: tuple[EarlierCharge, ...]) -> str:
    keys = ", ".join(f"{e.release_key[:12]} at {e.charged_at:%Y-%m-%d %H:%M} UTC" for e in earlier)
    return (
        f"{request.period} was already charged under this policy ({keys}); releasing it "
        "again spends budget again: pass --rerelease to do it anyway"
    )


def period_budgets(engine: Engine, periods: Sequence[str] | None = None) -> list[PeriodBudget]:
    """Cap, spent and remaining budget of every period (or of ``periods``), oldest first,
    each in its own currency."""
    query = select(BudgetPeriod.period).order_by(BudgetPeriod.period)
    if periods is not None:
        query = query.where(BudgetPeriod.period.in_(list(periods)))
    with engine.connect() as connection:
        names = connection.execute(query).scalars().all()
        return [_period_state(connection, name) for name in names]


def horizon_budgets(engine: Engine) -> list[HorizonBudget]:
    """Cap, spent and remaining budget of every person-unit horizon, oldest first."""
    with engine.connect() as connection:
        names = connection.execute(
            select(BudgetHorizon.horizon).order_by(BudgetHorizon.created_at)
        ).scalars()
        return [_horizon_state(connection, name) for name in names]


def charged_releases(engine: Engine) -> list[tuple[str, str, datetime]]:
    """Every release key the ledger charged, with its period and when, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(BudgetCharge.release_id, BudgetCharge.period, BudgetCharge.charged_at)
            .distinct()
            .order_by(BudgetCharge.charged_at, BudgetCharge.release_id)
        ).all()
    return [(key, period, at) for key, period, at in rows]
