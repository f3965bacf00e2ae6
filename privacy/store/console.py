"""The console's tables in the internal store: accounts, sessions, failed sign-ins, drafts
of releases and of the department profile, uploads, and the corrections two people make.

Nothing here is public: the public store learns of a draft only when it is published, and
of a correction only once a second person has confirmed it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from privacy.store.models import BigId, InternalBase

ROLES = ("analyst", "approver", "auditor", "admin")
DRAFT_STATUSES = ("draft", "published", "rejected")
CORRECTION_ACTIONS = ("supersede", "withdraw")
CORRECTION_STATUSES = ("requested", "done", "cancelled")
PROFILE_STATUSES = ("proposed", "published", "rejected")
UPLOAD_STATUSES = ("running", "checked", "failed", "committed", "discarded")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ConsoleUser(InternalBase):
    """A person who signs in to the console, with one role and an argon2 hash."""

    __tablename__ = "console_users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role_code"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[int] = mapped_column(Integer, default=1)
    # 1 until its owner sets a password of their own (the admin who made it knew the first).
    must_change: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class ConsoleSession(InternalBase):
    """A server-side session: the cookie holds only its key."""

    __tablename__ = "console_sessions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class SignInFailure(InternalBase):
    """A failed sign-in, kept for throttling by account and by address."""

    __tablename__ = "console_sign_in_failures"
    __table_args__ = (
        Index("ix_console_sign_in_failures_account_at", "account", "at"),
        Index("ix_console_sign_in_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)


class ReleaseDraft(InternalBase):
    """A release built and charged but not yet public: its content (published values and
    intervals, never a raw count) waits here for a second person's approval."""

    __tablename__ = "release_drafts"
    __table_args__ = (
        CheckConstraint(_one_of("status", DRAFT_STATUSES), name="status_code"),
        # One draft of a period awaits a decision at a time, whatever process builds it.
        Index(
            "uq_release_drafts_pending_period",
            "period",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the ledger's release key
    period: Mapped[str] = mapped_column(String(16), index=True)
    policy_name: Mapped[str] = mapped_column(String(128))
    profile_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    built_by: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    replaces: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a release id
    release_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the ReleaseContent as JSON


class ReleaseCorrection(InternalBase):
    """A request to withdraw a published release or to supersede it with a draft; it takes
    effect when a second person confirms it."""

    __tablename__ = "release_corrections"
    __table_args__ = (
        CheckConstraint(_one_of("action", CORRECTION_ACTIONS), name="action_code"),
        CheckConstraint(_one_of("status", CORRECTION_STATUSES), name="status_code"),
        # One correction of a release awaits confirmation at a time.
        Index(
            "uq_release_corrections_open",
            "release_id",
            unique=True,
            sqlite_where=text("status = 'requested'"),
            postgresql_where=text("status = 'requested'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    release_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    draft_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ProfileDraft(InternalBase):
    """A proposed department profile (TOML), published once a second person approves it."""

    __tablename__ = "profile_drafts"
    __table_args__ = (CheckConstraint(_one_of("status", PROFILE_STATUSES), name="status_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)  # public revision
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Upload(InternalBase):
    """A file uploaded through the console: checked first, committed only when asked."""

    __tablename__ = "console_uploads"
    __table_args__ = (CheckConstraint(_one_of("status", UPLOAD_STATUSES), name="status_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    mapping: Mapped[str] = mapped_column(String(256))
    file_name: Mapped[str] = mapped_column(String(512))
    stored_as: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigId)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    bytes_done: Mapped[int] = mapped_column(BigId, default=0)
    report: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON, no raw record
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
