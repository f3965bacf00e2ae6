"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from portal.admin.accounts import (
    THROTTLE_WINDOW,
    Account,
    AccountError,
    authenticate,
    change_password,
    throttled,
)
from portal.admin.errors import Refused, refusal
from portal.admin.pages.render import done, page
from portal.admin.state import SESSION_COOKIE, ConsoleState, acting, address, console_state

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@get("/login", opt={"public": True})
async def login_form(request: Request[Any, Any, Any]) -> Template:
    """The sign-in form."""
    return page(request, "login.html", "Sign in", name="")


@post("/login", opt={"public": True}, status_code=303)
async def login(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]) -> Redirect:
    """Check the name and password; too many failures refuse sign-in for a while."""
    state = console_state(request)
    name, password = data.get("name", "").strip()[:64], data.get("password", "")
    where = address(request)
    # In a worker thread, as every handler that touches the store: on SQLite a write waits
    # for the store's write lock, and on the event loop it held every request (and argon2's
    # check takes a good part of a second).
    refused, found = await sync_to_thread(_checked, state, name, password, where)
    if refused:
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        error = Refused(
            429,
            f"Too many failed sign-ins for this account or from this address: try again "
            f"in {minutes} minutes.",
            audit=("sign-in throttled", name or "(blank)", {"address": where}),
        )
        error.headers = {"Retry-After": str(int(THROTTLE_WINDOW.total_seconds()))}
        raise error
    if found is None:
        # authenticate() wrote the audit line; the page says the same for a wrong name.
        raise Refused(401, "The name or the password is wrong.", audit=None)
    await _new_session_key(request)
    request.set_session({"user": found.name})
    return Redirect("/password" if found.must_change else "/", status_code=303)


def _checked(
    state: ConsoleState, name: str, password: str, where: str
) -> tuple[bool, Account | None]:
    """Whether the sign-in is throttled, else the account its password opens (None for a
    wrong name or password, recorded for throttling), one sign-in at a time."""
    with state.sign_ins:
        if throttled(state.internal, name, where):
            return True, None
        return False, authenticate(state.internal, name, password, where)


@get("/password", opt={"permission": "own_password"})
async def password_form(request: Request[Any, Any, Any]) -> Template:
    """The form to set one's own password."""
    return page(request, "password.html", "Your password")


@post("/password", opt={"permission": "own_password"}, sync_to_thread=True)
def change_own_password(
    request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]
) -> Redirect:
    """Set a new password (the current one is asked for)."""
    state, account = acting(request)
    new = data.get("new", "")
    if new != data.get("again", ""):
        raise refusal(request, 400, "The two new passwords differ.", "change password")
    try:
        change_password(state.internal, account.name, data.get("current", ""), new)
    except AccountError as error:
        raise refusal(request, 400, str(error), "change password") from None
    return done(request, "/", "Your password is changed.")


async def _new_session_key(request: Request[Any, Any, Any]) -> None:
    """Sign-in starts a session under a new key: a key someone planted in the browser
    before (session fixation) is forgotten, and the middleware makes a new one because the
    request no longer seems to carry one."""
    # The parsed cookies are one dict, shared through the scope with the session
    # middleware's own view of this request: the key is taken out of it in place.
    old = request.cookies.pop(SESSION_COOKIE, None)
    if old and old != "null":
        await request.app.stores.get("sessions").delete(old)
    request.clear_session()


@post("/logout", status_code=303, opt={"permission": "read"})
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session."""
    state = console_state(request)
    user = request.session.get("user", "")
    await sync_to_thread(state.audit, str(user), "sign out", {"address": address(request)})
    request.clear_session()
    return Redirect("/login", status_code=303)
