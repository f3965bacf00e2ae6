"""Errors people can act on: a page under the site, JSON under the API, never a traceback.

An unknown release, table, district or period is a 404 that says what exists; a malformed
query parameter is a 400 that says what was expected. Anything unexpected is logged and
answered with a plain 500 page that reveals nothing of the server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal.web.render import Renderer
from publishing.i18n import N_, _

log = logging.getLogger("portal.web")
HEADINGS = {
    400: N_("That request is not quite right"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    500: N_("Something went wrong"),
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response[object]:
    """The error as JSON (API) or as a page (site), with the error's own headers (the
    ``Allow`` of a 405)."""
    if _wants_json(request):
        return Response(
            {"status_code": status, "detail": message},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    renderer: Renderer = request.app.state.renderer
    page = renderer.page(
        "error.html",
        title=_(HEADINGS.get(status, N_("Error"))),
        heading=_(HEADINGS.get(status, N_("Error"))),
        message=message,
    )
    return Response(page, status_code=status, media_type=MediaType.HTML, headers=headers)


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[object]:
    """400s, 404s and 405s (and any other HTTP error) with the reason given and the
    error's headers."""
    message = str(error.detail)
    if error.status_code == 404 and message == "Not Found":
        message = _("There is no page at {path}.").format(path=request.url.path[:200])
    if error.status_code == 405:
        message = _(
            "{path} does not take {method} requests; the Allow header lists the methods it takes"
        ).format(path=request.url.path[:200], method=request.method[:20])
    if error.status_code == 400 and getattr(error, "extra", None):
        message = f"{message}: {error.extra}"
    return error_response(request, error.status_code, message, error.headers)


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    """Anything else: logged, and answered without details."""
    log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return error_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        _("The server could not answer this request. It has been logged."),
    )
