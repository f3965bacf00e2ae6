"""Replay whole answers to pages and files that are already cached.

A page or file the site caches (:class:`portal.web.cache.CachedBody`) depends on its path,
its query string, whether the client takes gzip and the catalog's version, and on nothing
else. Once Litestar has answered such a request, the answer as the handler made it (status,
headers, body) is kept here and sent again without routing, dependency injection, the
handler or its response object; the security headers are added on the way out as to every
answer.
At 64 connections that is what keeps the slowest answers short (bench/serve.py): those
layers cost several times the rest of a cached answer (about 80 against 15 microseconds).

Only answers that carry an ETag are kept (only cached bodies have one), only for GET, and
only while the catalog they were made from is current. Everything else goes to Litestar.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

ANSWER_CACHE_BYTES = 64 * 1024 * 1024  # bodies kept at most; least recently used go first
_DROPPED_ON_304 = {b"content-type", b"content-length", b"content-encoding"}


@dataclass(frozen=True)
class Answer:
    """One complete 200 answer as the handler made it, and its 304 form."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    etag: bytes

    def not_modified_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers of a 304 for this answer: validators, caching and security
        headers, no body's."""
        return [(name, value) for name, value in self.headers if name not in _DROPPED_ON_304]


class AnswerCache:
    """Kept answers: :meth:`wrap` wraps an ASGI app so that it replays kept answers and
    records new ones as they go out.

    ``generation`` returns an object that changes when the catalog changes (the catalog
    itself); kept answers of an earlier generation are dropped."""

    def __init__(
        self, generation: Callable[[], object], max_bytes: int = ANSWER_CACHE_BYTES
    ) -> None:
        self.generation, self.max_bytes = generation, max_bytes
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[str, bytes, bool], Answer] = OrderedDict()
        self._bytes = 0
        self._of: object = None

    def __len__(self) -> int:
        return len(self._answers)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` wrapped: answers kept answers itself, passes the rest on. It wraps the
        Litestar app's handler inside its before-send hooks, so the security headers are
        added to a replayed answer as to any other."""

        async def answering(scope: Scope, receive: Receive, send: Send) -> None:
            await self.answer(app, scope, receive, send)

        return answering

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Replay the kept answer to this request, or let ``app`` answer and keep that."""
        if scope["type"] != ScopeType.HTTP or scope["method"] != "GET":
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = (
            scope["path"],
            scope["query_string"],
            b"gzip" in headers.get(b"accept-encoding", b""),
        )
        try:
            answer = self._find(key)
        except Exception:  # the catalog cannot be read: let Litestar answer (and say so)
            await app(scope, receive, send)
            return
        if answer is None:
            await app(scope, receive, self._recording(key, send))
        elif headers.get(b"if-none-match") == answer.etag:
            await send(
                HTTPResponseStartEvent(
                    type="http.response.start", status=304, headers=answer.not_modified_headers()
                )
            )
            await send(HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False))
        else:
            await send(
                HTTPResponseStartEvent(
                    type="http.response.start", status=200, headers=list(answer.headers)
                )
            )
            await send(
                HTTPResponseBodyEvent(type="http.response.body", body=answer.body, more_body=False)
            )

    def _find(self, key: tuple[str, bytes, bool]) -> Answer | None:
        generation = self.generation()
        with self._lock:
            if generation is not self._of:
                self._answers.clear()
                self._bytes, self._of = 0, generation
                return None
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def _recording(self, key: tuple[str, bytes, bool], send: Send) -> Send:
        generation = self._of
        head: list[dict[str, Any]] = []
        parts: list[bytes] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy as the handler made it: the hooks change the message on its way.
                head.append({**message, "headers": tuple(message.get("headers", ()))})
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if head and not message.get("more_body", False):
                    self._keep(key, generation, head[0], b"".join(parts))
            await send(message)

        return recording_send

    def _keep(
        self, key: tuple[str, bytes, bool], generation: object, start: dict[str, Any], body: bytes
    ) -> None:
        headers = tuple((bytes(name), bytes(value)) for name, value in start["headers"])
        etag = next((value for name, value in headers if name.lower() == b"etag"), None)
        if start.get("status") != 200 or etag is None or len(body) > self.max_bytes // 16:
            return  # not a cached body (an error, a redirect), or too big to keep
        answer = Answer(headers, body, etag)
        with self._lock:
            if generation is not self._of or key in self._answers:
                return  # the catalog changed meanwhile, or another request kept it first
            self._answers[key] = answer
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)
