"""The guard on every console route: a live session of an active account whose role holds
the route's permission. Each refusal is a 401 or 403 with a line in the audit log."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from portal.admin.accounts import account
from portal.admin.errors import Refused
from portal.admin.permissions import Permission, allowed
from portal.admin.session_store import SessionStore
from portal.admin.state import SESSION_COOKIE, address, console_state


async def require_permission(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Let the request through when its session's account holds ``opt["permission"]``."""
    if handler.opt.get("public"):
        return
    permission: Permission = handler.opt.get("permission", "read")
    state = console_state(connection)
    where = {"path": connection.url.path, "address": address(connection)}
    user = connection.session.get("user") if connection.session else None
    if not isinstance(user, str):
        # A cookie that names a session that expired ("null" is what the session middleware
        # writes to clear the cookie; an unknown key is no session at all).
        cookie = connection.cookies.get(SESSION_COOKIE, "null")
        sessions = connection.app.stores.get("sessions")
        if (
            cookie != "null"
            and isinstance(sessions, SessionStore)
            and await sessions.expired(cookie)
        ):
            raise Refused(
                401,
                "Your session has expired: sign in again.",
                audit=("session expired", f"anonymous@{where['address']}", where),
            )
        raise Refused(
            401,
            "Sign in to use the console.",
            audit=("not signed in", f"anonymous@{where['address']}", where),
        )
    found = account(state.internal, user)
    if found is None:
        raise Refused(
            401,
            "This account can no longer sign in.",
            audit=("refused", user, where | {"why": "account disabled or removed"}),
        )
    connection.scope.setdefault("state", {})["account"] = found
    if found.must_change and permission != "own_password" and connection.url.path != "/logout":
        raise Refused(
            403,
            "Set a password of your own first: the admin who made this account knows the "
            "one you signed in with.",
            audit=("refused", user, where | {"why": "first password not yet changed"}),
        )
    if not allowed(found.role, permission):
        raise Refused(
            403,
            f"Your role ({found.role}) does not allow this ({permission.replace('_', ' ')}).",
            audit=("refused", user, where | {"why": f"role {found.role} lacks {permission}"}),
        )
