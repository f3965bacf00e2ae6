"""Security headers on every response: pages, files, API answers and errors alike."""

from __future__ import annotations

from litestar.types import Message, Scope

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


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: add the headers to the response's start message. No handler
    sets any of them, so they are appended (a search-and-replace per header cost more than
    the rest of a cached page's answer)."""
    if message["type"] == "http.response.start":
        message["headers"] = [*message.get("headers", ()), *_ENCODED]
