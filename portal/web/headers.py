"""Security headers on every response: pages, files, API answers and errors alike, once.

Two ways to add them, one per process: :func:`with_security_headers` wraps the site's ASGI
app (Litestar's test client, any server), or the server adds them itself. Under ``portal
serve`` uvicorn does (:func:`uvicorn_options`): it puts its configured headers on every
response it sends, its own 400 for a malformed request and its own 500 and 503 included,
which no app middleware can reach. The app is then built without its own copy
(``create_app(settings, security_headers=False)``), so each header appears exactly once.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Only this origin: no CDN, no third-party requests, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


_ENCODED = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
]


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """``app`` with the security headers appended to every response it starts. No layer
    inside sets any of them, so they are appended rather than searched for and replaced."""

    async def adding(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *_ENCODED]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return adding


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` for an app built with
    ``security_headers=False``: uvicorn sends the security headers on every response, its
    own errors included, and no ``server`` header (it names the software to attackers)."""
    return {"headers": list(SECURITY_HEADERS.items()), "server_header": False}
