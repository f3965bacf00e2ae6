"""What every console request shares: the stores, where uploads go, and the audit line a
refused request leaves."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy import Engine

from portal.admin.accounts import Account
from privacy.store.audit import record_audit

SESSION_COOKIE = "portal_console"


@dataclass
class ConsoleState:
    """The console's stores and options (one per app)."""

    internal: Engine
    public: Engine
    upload_dir: Path
    policy_dir: Path
    mapping_dir: Path
    build_reports: bool = True
    max_upload_bytes: int = 512 * 1024 * 1024
    reports: dict[str, str] = field(default_factory=dict)  # release id -> report status
    progress: dict[int, int] = field(default_factory=dict)  # upload id -> bytes read
    # Uploads are checked and committed one at a time, in the order asked, in one thread
    # (made at the first upload, ended when the app shuts down).
    worker: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="console-upload")
    )
    # Sign-ins are checked one at a time (in worker threads): each then sees every failure
    # recorded before it, so that sign-ins sent at once cannot all pass the throttle.
    sign_ins: threading.Lock = field(default_factory=threading.Lock)

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        """Append a line to the audit log in its own transaction."""
        with self.internal.begin() as connection:
            record_audit(connection, actor, action, detail)


def console_state(connection: ASGIConnection[Any, Any, Any, Any]) -> ConsoleState:
    """The console's state from any request."""
    state: ConsoleState = connection.app.state["console"]
    return state


def address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address as the server saw it."""
    client = connection.client
    return client.host if client is not None else "unknown"


def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> Account | None:
    """The account the guard found for this request, if any."""
    found = connection.scope.get("state", {}).get("account")
    return found if isinstance(found, Account) else None


def acting(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[ConsoleState, Account]:
    """The console's state and the account acting: for routes the guard let through."""
    account = signed_in(connection)
    if account is None:
        raise RuntimeError(f"{connection.url.path} has no account: is its guard missing?")
    return console_state(connection), account


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who to name in the audit log: the signed-in account, else the address."""
    account = signed_in(connection)
    if account is not None:
        return account.name
    name = _session_user(connection)
    return name or f"anonymous@{address(connection)}"


def _session_user(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    try:
        session = connection.session
    except Exception:  # no session middleware ran for this request
        return None
    user = session.get("user") if isinstance(session, dict) else None
    return user if isinstance(user, str) else None
