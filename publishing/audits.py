"""Empirical privacy audits as the public store keeps them, and as the site reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from publishing.models import PrivacyAudit


@dataclass(frozen=True)
class AuditInfo:
    """One table's audit: the epsilon the engine was seen to spend at least, beside what it
    claims."""

    policy_name: str
    policy_sha256: str
    table: str
    unit: str
    mechanism: str
    trials: int
    confidence: float
    delta: float
    claimed_epsilon: float
    release_epsilon: float
    epsilon_lower_bound: float
    run_at: datetime


def write_audit(engine: Engine, audit: AuditInfo) -> None:
    """Add an audit to the public store."""
    with engine.begin() as connection:
        connection.execute(
            insert(PrivacyAudit).values(
                policy_name=audit.policy_name,
                policy_sha256=audit.policy_sha256,
                table_name=audit.table,
                unit=audit.unit,
                mechanism=audit.mechanism,
                trials=audit.trials,
                confidence=audit.confidence,
                delta=audit.delta,
                claimed_epsilon=audit.claimed_epsilon,
                release_epsilon=audit.release_epsilon,
                epsilon_lower_bound=audit.epsilon_lower_bound,
                run_at=audit.run_at,
            )
        )


def read_audits(engine: Engine) -> tuple[AuditInfo, ...]:
    """Every audit in the public store, oldest first."""
    t = PrivacyAudit.__table__
    columns = (
        t.c.policy_name,
        t.c.policy_sha256,
        t.c.table_name,
        t.c.unit,
        t.c.mechanism,
        t.c.trials,
        t.c.confidence,
        t.c.delta,
        t.c.claimed_epsilon,
        t.c.release_epsilon,
        t.c.epsilon_lower_bound,
        t.c.run_at,
    )
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(t.c.id)).all()
    return tuple(AuditInfo(*tuple(row)) for row in rows)


def latest_audits(audits: tuple[AuditInfo, ...], policy_sha256: str) -> tuple[AuditInfo, ...]:
    """The latest audit of each table of the policy with that hash."""
    latest: dict[str, AuditInfo] = {}
    for audit in audits:
        if audit.policy_sha256 == policy_sha256:
            latest[audit.table] = audit
    return tuple(latest.values())
