"""Refusals and how they are answered: the right status, a page that says what to do, and
a line in the audit log for every 4xx."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.concurrency import sync_to_thread
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.types import Scope

from portal.admin.state import actor_of, address, console_state, signed_in


class Refused(HTTPException):
    """A refusal with its status, its message for the person, and the audit line it
    leaves (action, actor, detail)."""

    def __init__(
        self, status_code: int, message: str, *, audit: tuple[str, str, dict[str, Any]] | None
    ) -> None:
        super().__init__(detail=message, status_code=status_code)
        self.audit = audit


def refusal(
    request: Request[Any, Any, Any], status: int, message: str, step: str, **detail: Any
) -> Refused:
    """A refusal of ``step`` with ``message``, and its audit line: who, from where, why."""
    account = signed_in(request)
    return Refused(
        status,
        message,
        audit=(
            "refused",
            account.name if account else "anonymous",
            {"step": step, "why": message[:300], "address": address(request)} | detail,
        ),
    )


TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Wrong type of file",
    429: "Too many attempts",
}


async def audit_refusal(error: Exception, scope: Scope) -> None:
    """Write a refused request's line to the audit log: an ``after_exception`` hook, awaited
    before the refusal's page is made, so the line is written first. In a worker thread:
    on SQLite a write may wait for the store's write lock, and on the event loop that wait
    held every request of the console."""
    request: Request[Any, Any, Any] = Request(scope)
    line = _audit_line(request, error)
    if line is not None:
        await sync_to_thread(console_state(request).audit, *line)


def _audit_line(
    request: Request[Any, Any, Any], error: Exception
) -> tuple[str, str, dict[str, Any]] | None:
    """``(actor, action, detail)`` of a refusal: a :class:`Refused` names its own; any other
    4xx is a refused request; a failure (5xx) is the log's, not the audit's."""
    if isinstance(error, Refused):
        if error.audit is None:
            return None
        action, actor, detail = error.audit
        return actor, action, detail
    if not isinstance(error, HTTPException) or error.status_code >= 500:
        return None
    detail = {
        "path": request.url.path,
        "method": request.method,
        "status": error.status_code,
        "why": str(error.detail)[:200],
        "address": address(request),
    }
    return actor_of(request), "refused request", detail


def refusal_page(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """The page a refused request gets (:func:`audit_refusal` has written its line)."""
    status = error.status_code
    message = str(error.detail)
    if message == "CSRF token verification failed":
        message = (
            "The form's security token is missing or does not match: reload the page and "
            "send the form again."
        )
    headers = dict(error.headers or {})
    return Template(
        "error.html",
        context={
            "title": TITLES.get(status, "Error"),
            "message": message,
            "status": status,
            "account": signed_in(request),
        },
        status_code=status,
        headers=headers,
    )
