"""SQLAlchemy models of the public store: only what may be published.

Public reference data (areas and focus areas) and published releases (tables of noisy,
post-processed cells). Nothing here may ever hold a raw record or a true count.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names both stores use, so that migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PublicBase(DeclarativeBase):
    """Declarative base of the public store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Area(PublicBase):
    """A city, district or beat. Codes are unique across levels."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'district', 'beat')", name="level_code"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("areas.code"), nullable=True, index=True
    )
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    boundary: Mapped[str | None] = mapped_column(Text, nullable=True)  # GeoJSON geometry
    # Residents by race or ethnic group, where declared: JSON {"black": 1234, ...}.
    population_by_race: Mapped[str | None] = mapped_column(Text, nullable=True)


class FocusArea(PublicBase):
    """A set of beats where an intervention started on a known date."""

    __tablename__ = "focus_areas"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    intervention_start: Mapped[date] = mapped_column(Date)
    intervention_end: Mapped[date | None] = mapped_column(Date, nullable=True)


class FocusAreaBeat(PublicBase):
    """A beat's role in a focus area: a member, a comparison beat or a buffer beat."""

    __tablename__ = "focus_area_beats"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'comparison', 'buffer')", name="role_code"),
    )

    focus_area_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("focus_areas.code", ondelete="CASCADE"), primary_key=True
    )
    beat_code: Mapped[str] = mapped_column(String(64), ForeignKey("areas.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


class Release(PublicBase):
    """A published release: immutable, identified by the SHA-256 of its content."""

    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # content hash
    period: Mapped[str] = mapped_column(String(16), index=True)
    release_key: Mapped[str] = mapped_column(String(64), unique=True)  # the ledger's id
    policy_name: Mapped[str] = mapped_column(String(128))
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    policy_text: Mapped[str] = mapped_column(Text)
    budget_statement: Mapped[str] = mapped_column(Text)  # JSON
    engine_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ReleaseTable(PublicBase):
    """One table of a release, with how its noise was calibrated."""

    __tablename__ = "release_tables"

    release_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(16))
    dimensions: Mapped[str] = mapped_column(Text)  # JSON list
    level_of: Mapped[str | None] = mapped_column(String(128), nullable=True)
    mechanism: Mapped[str] = mapped_column(String(16))
    noise_scale: Mapped[float] = mapped_column(Float)
    rho: Mapped[float] = mapped_column(Float)
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)


class ReleaseArea(PublicBase):
    """The declared areas as they stood when a release was written: the codes its tables
    use with their names, frozen with the release (its ``areas.csv``), while the site's
    area list follows renames."""

    __tablename__ = "release_areas"

    release_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReleaseCell(PublicBase):
    """One published number with its 95% interval and the signed noisy value it came from."""

    __tablename__ = "release_cells"
    # No foreign key to release_tables: PostgreSQL checks one with a trigger per row, which
    # cost a release as much as writing its cells did (public_0011, bench/RESULTS.md).
    # Cells are written only by publishing.releases.write_release_in, in the transaction
    # that writes their release and tables, and releases are never deleted.
    __table_args__ = (
        CheckConstraint("published >= 0", name="published_nonneg"),
        CheckConstraint("ci_low <= published AND published <= ci_high", name="interval"),
        Index("ix_release_cells_release_table", "release_id", "table_name", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)  # order within the table's key set
    key: Mapped[str] = mapped_column(Text)  # JSON list of dimension values
    published: Mapped[int] = mapped_column(Integer)
    ci_low: Mapped[int] = mapped_column(Integer)
    ci_high: Mapped[int] = mapped_column(Integer)
    raw_noisy: Mapped[int] = mapped_column(Integer)
    std_error: Mapped[float | None] = mapped_column(Float, nullable=True)
    noise_scale: Mapped[float] = mapped_column(Float)
    # The unbiased least-squares estimate behind ``published`` (None before public_0006).
    estimate: Mapped[float | None] = mapped_column(Float, nullable=True)
    # A structural zero: not measured, since the department profile says its code cannot
    # occur (public_0007).
    structural: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Artifact(PublicBase):
    """A file made from a release (its quarterly PDF report), kept with the release it
    belongs to and named by the SHA-256 of its bytes."""

    __tablename__ = "artifacts"
    __table_args__ = (CheckConstraint("kind IN ('report')", name="kind_code"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    release_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("releases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200), unique=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PrivacyAudit(PublicBase):
    """An empirical privacy audit of one table of a policy: its lower bound on the epsilon
    the engine really spends, beside what the table claims. Run on synthetic neighbouring
    data sets in a scratch store, never on a department's records."""

    __tablename__ = "privacy_audits"
    __table_args__ = (Index("ix_privacy_audits_policy_sha256", "policy_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_name: Mapped[str] = mapped_column(String(128))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(256))
    mechanism: Mapped[str] = mapped_column(String(16))
    trials: Mapped[int] = mapped_column(Integer)  # outputs drawn per side
    confidence: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    claimed_epsilon: Mapped[float] = mapped_column(Float)  # the table's own claim
    release_epsilon: Mapped[float] = mapped_column(Float)  # the whole release's
    epsilon_lower_bound: Mapped[float] = mapped_column(Float)
    run_at: Mapped[datetime] = mapped_column(DateTime)


class DepartmentProfileRevision(PublicBase):
    """One revision of the department's public profile (see :mod:`publishing.profile`);
    the latest is in force. Revisions are only ever added."""

    __tablename__ = "department_profiles"

    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PublicRevision(PublicBase):
    """One row: a number the database bumps on every write to a table whose content is
    published (triggers made by migration public_0008), so the site sees every change."""

    __tablename__ = "public_revision"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger)


class ReleaseNotice(PublicBase):
    """A published release that no longer stands: superseded by a corrected release or
    withdrawn, with the reason and the day. The release itself stays, unchanged and
    reachable; notices are only ever added."""

    __tablename__ = "release_notices"
    __table_args__ = (CheckConstraint("status IN ('superseded', 'withdrawn')", name="status_code"),)

    release_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("releases.id", ondelete="RESTRICT"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("releases.id", ondelete="RESTRICT"), nullable=True
    )
    noticed_at: Mapped[datetime] = mapped_column(DateTime)
