"""HEAD on every GET route: the headers the GET would have, no body.

Litestar answers HEAD only where a handler declares it, so without this a HEAD to any page
was a 405. Here a HEAD is passed on as a GET (the answer cache then serves it too) and the
body is dropped on the way out; ``Content-Length`` stays that of the GET, as HTTP asks. The
``Allow`` header of a 405 or an OPTIONS answer lists HEAD wherever it lists GET (in
alphabetical order, whatever order the router gave).
"""

from __future__ import annotations

from typing import cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def with_head(app: ASGIApp) -> ASGIApp:
    """``app`` answering HEAD wherever it answers GET."""

    async def answering(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] == "GET":
            await app(scope, receive, send)
        elif scope["method"] == "HEAD":
            await app(cast(Scope, {**scope, "method": "GET"}), receive, _headers_only(send))
        else:
            await app(scope, receive, _allowing_head(send))

    return answering


def _headers_only(send: Send) -> Send:
    allowing = _allowing_head(send)

    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return  # the body's parts are dropped; the last one ends the answer
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await allowing(message)

    return send_headers


def _allowing_head(send: Send) -> Send:
    async def send_allowing_head(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [_with_head(h) for h in message.get("headers", ())]}
        await send(message)

    return send_allowing_head


def _with_head(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    name, value = header
    if name.lower() != b"allow":
        return header
    methods = {m.strip() for m in value.split(b",")}
    if b"GET" in methods:
        methods.add(b"HEAD")
    return name, b", ".join(sorted(methods))
