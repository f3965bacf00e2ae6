"""The audit log and the clock that stamps it: who did what to the stores, and when."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from privacy.store.models import AuditEvent


def record_audit(
    connection: Connection, actor: str | None, action: str, detail: dict[str, Any]
) -> None:
    """Append a line to the audit log (inside the caller's transaction)."""
    connection.execute(
        insert(AuditEvent).values(
            at=utc_now(),
            actor=actor or default_actor(),
            action=action,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


def default_actor() -> str:
    """The login name of whoever runs the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - a user without a passwd entry
        return "unknown"


def utc_now() -> datetime:
    """The current time in UTC, naive (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)
