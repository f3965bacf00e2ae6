"""SQLAlchemy models of the internal store.

Raw records live here and nowhere else. Categorical columns carry CHECK constraints built
from :mod:`privacy.vocabulary`, so a code outside a closed vocabulary cannot be stored even
by a hand-written INSERT.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from privacy.schema import CanonicalField, FieldType, fields_of
from publishing.models import NAMING_CONVENTION

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class InternalBase(DeclarativeBase):
    """Declarative base of the internal store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IngestBatch(InternalBase):
    """One committed ingest of one file: what was read, added, already present, rejected."""

    __tablename__ = "ingest_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    mapping_name: Mapped[str] = mapped_column(String(128))
    mapping_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(512))
    file_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    rows_read: Mapped[int] = mapped_column(BigInteger)
    rows_accepted: Mapped[int] = mapped_column(BigInteger)
    rows_added: Mapped[int] = mapped_column(BigInteger)
    rows_already_present: Mapped[int] = mapped_column(BigInteger)
    rows_rejected: Mapped[int] = mapped_column(BigInteger)
    # JSON: counts per category and the rejected rows with their reasons.
    report: Mapped[str] = mapped_column(Text)


class AuditEvent(InternalBase):
    """An append-only line of who did what to the stores, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)  # JSON, never a raw record


def _record_columns(kind: str) -> dict[str, object]:
    """Mapped columns for the canonical fields of a record kind (all but source_id)."""
    columns: dict[str, object] = {}
    for field in fields_of(kind):
        if field.name == "source_id":
            continue
        columns[field.name] = _column_for(field)
    return columns


def _column_for(field: CanonicalField) -> object:
    if field.type is FieldType.DATETIME:
        return mapped_column(DateTime, nullable=False)
    if field.type is FieldType.FLOAT:
        return mapped_column(Float, nullable=True)
    if field.type is FieldType.KEY:
        return mapped_column(String(128), nullable=True)
    if field.type is FieldType.AREA:
        return mapped_column(String(64), nullable=False)
    if field.type is FieldType.CATEGORY:
        return mapped_column(String(32), nullable=False)
    raise TypeError(f"no column type for {field.name} ({field.type})")  # pragma: no cover


def _vocabulary_checks(kind: str) -> tuple[CheckConstraint, ...]:
    # Written as a chain of equalities, not IN (...): SQLite evaluates an IN list in a
    # CHECK through a temporary index per row, which made bulk inserts three times slower.
    # A field with several shipped vocabularies accepts the codes of all of them (each
    # default code first, so the common case stops early); which one a department uses is
    # checked at ingest, against its mapping's declaration.
    checks = []
    for field in fields_of(kind):
        if field.type is FieldType.CATEGORY:
            codes = " OR ".join(f"{field.name} = '{code}'" for code in field.stored_codes)
            checks.append(CheckConstraint(codes, name=f"{field.name}_code"))
    return tuple(checks)


def _record_table_args(kind: str) -> tuple[object, ...]:
    # Keyed by time first, and on SQLite stored in the key's order (WITHOUT ROWID): a
    # period's records lie together whatever order they were ingested in, so a release
    # reads its period only. PostgreSQL reads a period through the same key.
    return (
        PrimaryKeyConstraint("occurred_at", "source", "source_id"),
        UniqueConstraint("source", "source_id"),
        *_vocabulary_checks(kind),
        {"sqlite_with_rowid": False},
    )


class _RecordMixin:
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    # The line of its batch's file the record was read from, which ingest needs to name
    # the lines of an id the file repeats (records stored before migration internal_0008
    # hold their order of writing instead).
    batch_line: Mapped[int] = mapped_column(BigInteger, default=0)
    # No foreign key to ingest_batches: PostgreSQL checks one with a trigger per row, which
    # cost more than half of a bulk load's insert time. The batch row is written in the same
    # transaction as its records (privacy.ingest.records), so the reference cannot dangle.
    batch_id: Mapped[int] = mapped_column(BigId)


def _record_class(name: str, kind: str, table: str) -> type[InternalBase]:
    namespace: dict[str, object] = {
        "__tablename__": table,
        "__table_args__": _record_table_args(kind),
        "__doc__": f"A raw {kind} record in the canonical schema.",
        "__annotations__": {},
        **_record_columns(kind),
    }
    return type(name, (_RecordMixin, InternalBase), namespace)


Stop = _record_class("Stop", "stops", "stops")
Incident = _record_class("Incident", "incidents", "incidents")
ForceEvent = _record_class("ForceEvent", "force", "force_events")

RECORD_TABLES = {"stops": "stops", "incidents": "incidents", "force": "force_events"}


class BudgetPeriod(InternalBase):
    """A budget period: its currency (``rho`` for zCDP, ``epsilon`` for pure DP), its cap
    in that currency and the privacy unit it protects, all fixed by its first release."""

    __tablename__ = "budget_periods"
    __table_args__ = (
        CheckConstraint("cap > 0", name="cap_positive"),
        CheckConstraint("currency = 'rho' OR currency = 'epsilon'", name="currency_code"),
        CheckConstraint("unit_kind = 'record' OR unit_kind = 'person'", name="unit_kind_code"),
    )

    period: Mapped[str] = mapped_column(String(16), primary_key=True)  # e.g. 2025Q3
    currency: Mapped[str] = mapped_column(String(8))
    cap: Mapped[float] = mapped_column(Float)
    unit_kind: Mapped[str] = mapped_column(String(8))
    policy_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetHorizon(InternalBase):
    """A person-unit policy's horizon (a calendar year, or the life of the portal): a cap
    on what every release in it spends together, fixed by its first release."""

    __tablename__ = "budget_horizons"
    __table_args__ = (
        CheckConstraint("cap > 0", name="cap_positive"),
        CheckConstraint("currency = 'rho' OR currency = 'epsilon'", name="currency_code"),
        CheckConstraint("kind = 'year' OR kind = 'portal'", name="kind_code"),
    )

    horizon: Mapped[str] = mapped_column(String(32), primary_key=True)  # "year 2025", "portal"
    kind: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(8))
    cap: Mapped[float] = mapped_column(Float)
    policy_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetCharge(InternalBase):
    """One table's spend of a period's budget (and of its horizon's, for a person unit).
    Append-only: rows are never changed."""

    __tablename__ = "budget_charges"
    __table_args__ = (
        CheckConstraint("rho > 0", name="rho_positive"),
        Index("ix_budget_charges_period", "period"),
        Index("ix_budget_charges_horizon", "horizon"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(16))
    horizon: Mapped[str | None] = mapped_column(String(32), nullable=True)
    release_id: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(128))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None before 0004
    unit: Mapped[str] = mapped_column(String(256))
    mechanism: Mapped[str] = mapped_column(String(16))
    sensitivity: Mapped[float] = mapped_column(Float)  # L2 (gaussian) or L1 (laplace)
    noise_scale: Mapped[float] = mapped_column(Float)
    rho: Mapped[float] = mapped_column(Float)  # zCDP cost, of every charge
    epsilon: Mapped[float | None] = mapped_column(Float, nullable=True)  # pure DP only
    epsilon_shown: Mapped[float] = mapped_column(Float)
    delta_shown: Mapped[float] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    window_end: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    charged_at: Mapped[datetime] = mapped_column(DateTime)


class IntervalCalibration(InternalBase):
    """The simulated 95% half-widths of one release shape (see
    :mod:`privacy.release.intervals`). They depend on the policy's tables, the areas and
    the noise, never on a record, so every later release of the same shape reuses them."""

    __tablename__ = "interval_calibrations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the shape
    nodes: Mapped[int] = mapped_column(Integer)
    draws: Mapped[int] = mapped_column(Integer)
    half_widths: Mapped[bytes] = mapped_column(LargeBinary)  # float64, little-endian
    created_at: Mapped[datetime] = mapped_column(DateTime)
