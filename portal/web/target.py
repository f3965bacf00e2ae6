"""Request targets are short: a longer path and query string is a 414 before Litestar.

uvicorn takes targets of up to 64 KB, and Litestar keeps its parsings of the last 1,024
query strings and paths (its routing and query-parsing caches): 1,024 long unique targets
would hold over 100 MB in each worker. No URL of this site needs more than a few hundred
bytes.
"""

from __future__ import annotations

import json

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

MAX_TARGET_BYTES = 2048  # path and query string, as sent


def with_short_targets(app: ASGIApp, max_bytes: int = MAX_TARGET_BYTES) -> ASGIApp:
    """``app`` behind a 414 for any request whose path and query string, as sent, are
    longer than ``max_bytes``."""

    async def refusing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        length = len(path) + len(scope.get("query_string", b""))
        if length <= max_bytes:
            await app(scope, receive, send)
            return
        message = (
            f"The address is {length:,} bytes long; this site's addresses are at most "
            f"{max_bytes:,}. Check the link, or remove the query parameters the page does "
            "not take."
        )
        if scope["path"].startswith("/api/"):
            body, media = json.dumps({"status_code": 414, "detail": message}), "application/json"
        else:
            body, media = message, "text/plain; charset=utf-8"
        data = body.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 414,
                "headers": [
                    (b"content-type", media.encode("latin-1")),
                    (b"content-length", str(len(data)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data, "more_body": False})

    return refusing
