"""The ledger and the audit log, as pages and as CSV downloads."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy import select

from portal.admin.pages.render import page
from portal.admin.state import address, console_state, signed_in
from privacy.release.drafts import list_drafts
from privacy.release.ledger import PeriodBudget, horizon_budgets, period_budgets
from privacy.release.outcomes import charge_outcomes
from privacy.store.models import AuditEvent

AUDIT_PAGE = 200


@dataclass(frozen=True)
class LedgerLine:
    """One period's budget as the console shows it."""

    budget: PeriodBudget
    published: int
    drafts: int  # charged, kept as a draft (waiting or rejected)
    lost: int  # charged, neither published nor a draft: the process stopped in between


def ledger_lines(request: Request[Any, Any, Any]) -> list[LedgerLine]:
    """Every period's cap, spend and what became of its charges."""
    state = console_state(request)
    outcomes = charge_outcomes(state.internal, state.public)
    drafted = {d.id for d in list_drafts(state.internal) if d.status != "published"}
    return [
        LedgerLine(
            b,
            sum(o.period == b.period and not o.lost for o in outcomes),
            sum(o.period == b.period and o.release_key in drafted for o in outcomes),
            sum(o.period == b.period and o.lost and o.release_key not in drafted for o in outcomes),
        )
        for b in period_budgets(state.internal)
    ]


@get("/ledger", opt={"permission": "read"}, sync_to_thread=True)
def ledger(request: Request[Any, Any, Any]) -> Template:
    """Spend per period and per source against the cap; charges without a release."""
    state = console_state(request)
    return page(
        request,
        "ledger.html",
        "Privacy budget ledger",
        lines=ledger_lines(request),
        horizons=horizon_budgets(state.internal),
    )


@get("/ledger.csv", opt={"permission": "read_audit"}, sync_to_thread=True)
def ledger_csv(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The ledger as CSV: one row per period and source."""
    rows: list[list[object]] = []
    for line in ledger_lines(request):
        b = line.budget
        sources = b.by_source or ((None, b.spent),)
        for source, spent in sources:
            rows.append(
                [
                    b.period,
                    b.unit_kind,
                    b.currency,
                    b.cap,
                    source or "",
                    spent,
                    b.spent,
                    b.remaining,
                    b.charges,
                    line.published,
                    line.drafts,
                    line.lost,
                ]
            )
    header = [
        "period",
        "unit",
        "currency",
        "cap",
        "source",
        "source_spent",
        "period_spent",
        "remaining",
        "charges",
        "published",
        "drafts",
        "charged_without_release",
    ]
    _downloaded(request, "ledger.csv")
    return _csv("ledger.csv", header, rows)


@get("/audit", opt={"permission": "read_audit"}, sync_to_thread=True)
def audit_log(request: Request[Any, Any, Any], before: FromQuery[int | None] = None) -> Template:
    """The audit log, newest first, a page at a time."""
    events = _events(request, before, AUDIT_PAGE)
    return page(
        request,
        "audit.html",
        "Audit log",
        events=events,
        older=events[-1][0] if len(events) == AUDIT_PAGE else None,
    )


@get("/audit.csv", opt={"permission": "read_audit"}, sync_to_thread=True)
def audit_csv(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The whole audit log as CSV, oldest first."""
    rows = [
        [i, at.isoformat(sep=" "), actor, action, detail]
        for i, at, actor, action, detail in reversed(_events(request, None, None))
    ]
    _downloaded(request, "audit.csv")
    return _csv("audit.csv", ["id", "at_utc", "actor", "action", "detail"], rows)


def _events(
    request: Request[Any, Any, Any], before: int | None, limit: int | None
) -> list[tuple[int, datetime, str, str, str]]:
    state = console_state(request)
    query = select(
        AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail
    ).order_by(AuditEvent.id.desc())
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if limit is not None:
        query = query.limit(limit)
    with state.internal.connect() as connection:
        return [tuple(r) for r in connection.execute(query)]  # type: ignore[misc]


def _downloaded(request: Request[Any, Any, Any], name: str) -> None:
    account = signed_in(request)
    console_state(request).audit(
        account.name if account else "anonymous",
        "download",
        {"file": name, "address": address(request)},
    )


def _csv(name: str, header: list[str], rows: list[list[object]]) -> Response[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return Response(
        buffer.getvalue().encode("utf-8"),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text that starts like a formula is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


__all__ = ["audit_csv", "audit_log", "ledger", "ledger_csv"]
