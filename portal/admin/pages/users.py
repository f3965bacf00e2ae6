"""Accounts, managed by admins."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from portal.admin.accounts import AccountError, add_user, list_users, set_active, set_role
from portal.admin.errors import refusal
from portal.admin.pages.render import done, page
from portal.admin.state import acting, console_state
from privacy.store.console import ROLES

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


# Not in a thread: see the note on /uploads (portal/admin/pages/uploads.py).
@get("/users", opt={"permission": "manage_users"}, sync_to_thread=False)
def users(request: Request[Any, Any, Any]) -> Template:
    """Every account and its role; a form to add one."""
    state = console_state(request)
    return page(request, "users.html", "Accounts", users=list_users(state.internal), roles=ROLES)


@post("/users", opt={"permission": "manage_users"}, sync_to_thread=True)
def create_user(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]) -> Redirect:
    """Add an account (the password rules apply); it can sign in once another admin
    enables it."""
    state, account = acting(request)
    name = data.get("name", "").strip()
    try:
        add_user(
            state.internal,
            name,
            data.get("role", ""),
            data.get("password", ""),
            actor=account.name,
            active=False,
        )
    except AccountError as error:
        raise refusal(request, 400, str(error), "add user", user=name[:64]) from None
    return done(request, "/users", f"Account {name} added: another admin must enable it.")


@post("/users/{name:str}/enable", opt={"permission": "manage_users"}, sync_to_thread=True)
def enable_user(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    """Let an account sign in: not by the admin who made it."""
    state, account = acting(request)
    try:
        set_active(state.internal, name, True, actor=account.name)
    except AccountError as error:
        status = 404 if "no account" in str(error) else 403
        raise refusal(request, status, str(error), "enable user", user=name[:64]) from None
    return done(request, "/users", f"Account {name} enabled.")


@post("/users/{name:str}/disable", opt={"permission": "manage_users"}, sync_to_thread=True)
def disable_user(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    """Stop an account from signing in (it is never deleted)."""
    state, account = acting(request)
    if name == account.name:
        raise refusal(request, 409, "You cannot disable your own account.", "disable user")
    try:
        set_active(state.internal, name, False, actor=account.name)
    except AccountError as error:
        raise refusal(request, 404, str(error), "disable user", user=name[:64]) from None
    return done(request, "/users", f"Account {name} disabled.")


@post("/users/{name:str}/role", opt={"permission": "manage_users"}, sync_to_thread=True)
def change_role(
    request: Request[Any, Any, Any], name: FromPath[str], data: Annotated[dict[str, str], Form]
) -> Redirect:
    """Give an account another role (not one's own: another admin must)."""
    state, account = acting(request)
    role = data.get("role", "")
    if name == account.name:
        raise refusal(
            request, 409, "You cannot change your own role: another admin must.", "change role"
        )
    try:
        set_role(state.internal, name, role, actor=account.name)
    except AccountError as error:
        words = str(error)
        status = 404 if "no account" in words else 403 if "another admin" in words else 400
        raise refusal(request, status, words, "change role", user=name[:64]) from None
    return done(request, "/users", f"{name} is now {role}.")
