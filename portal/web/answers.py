"""Replay whole answers to pages and files that are already cached.

A page or file the site caches (:class:`portal.web.cache.CachedBody`) depends on its path,
its query string, whether the client takes gzip and the catalog's version, and on nothing
else. Once Litestar has answered such a request, the answer as the handler made it (status,
headers, body) is kept here and sent again without routing, dependency injection, the
handler or its response object. :meth:`AnswerCache.wrap` is plain ASGI middleware around
the Litestar app; the layers outside it (security headers, HEAD) treat a replayed answer as
any other.
At 64 connections that is what keeps the slowest answers short (bench/serve.py): those
layers cost several times the rest of a cached answer (about 80 against 15 microseconds).

Only answers that carry an ETag are kept (only cached bodies have one), only for GET, only
at a canonical path (no doubled or trailing slash), and only while the catalog they were
made from is current. They are kept under the canonical form of their query
(:func:`portal.web.query.canonical_query`): the site refuses unknown and repeated
parameters, so a valid URL has few spellings and they share one entry. The cache is bounded
in entries and in bytes, keys and headers counted as well as bodies; the least recently used
go first. Everything else goes to Litestar.
"""

from __future__ import annotations

import sys
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
from litestar.utils import normalize_path

from portal.web.query import canonical_query

ANSWER_CACHE_BYTES = 32 * 1024 * 1024  # keys, headers and bodies, as Python holds them
ANSWER_CACHE_ENTRIES = 4096
_DROPPED_ON_304 = {b"content-type", b"content-length", b"content-encoding"}
# What an entry costs beyond the sizes of its objects: the OrderedDict's slot and link.
_ENTRY_OVERHEAD = 200

Key = tuple[str, bytes, bool]  # path, canonical query, gzip taken


@dataclass(frozen=True, slots=True)
class Answer:
    """One complete 200 answer as the handler made it, and its 304 form."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    etag: bytes

    def not_modified_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers of a 304 for this answer: validators, caching and security
        headers, no body's."""
        return [(name, value) for name, value in self.headers if name not in _DROPPED_ON_304]


def footprint(key: Key, answer: Answer) -> int:
    """The bytes an entry holds: its key, its answer's headers and body, and the objects
    that hold them (the body may be shared with the page cache; it is counted here too)."""
    size = _ENTRY_OVERHEAD + sys.getsizeof(key) + sum(sys.getsizeof(part) for part in key)
    size += sys.getsizeof(answer) + sys.getsizeof(answer.headers) + sys.getsizeof(answer.body)
    for pair in answer.headers:
        size += sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
    return size


class AnswerCache:
    """Kept answers: :meth:`wrap` wraps an ASGI app so that it replays kept answers and
    records new ones as they go out.

    ``generation`` returns an object that changes when the catalog changes (the catalog
    itself); kept answers of an earlier generation are dropped."""

    def __init__(
        self,
        generation: Callable[[], object],
        max_bytes: int = ANSWER_CACHE_BYTES,
        max_entries: int = ANSWER_CACHE_ENTRIES,
    ) -> None:
        self.generation, self.max_bytes, self.max_entries = generation, max_bytes, max_entries
        self._lock = threading.Lock()
        self._answers: OrderedDict[Key, tuple[Answer, int]] = OrderedDict()
        self._bytes = 0
        self._of: object = None

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def held_bytes(self) -> int:
        """What the kept answers hold, as :func:`footprint` counts it."""
        return self._bytes

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` wrapped: answers kept answers itself, passes the rest on."""

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
            canonical_query(scope.get("query_string", b"")),
            b"gzip" in headers.get(b"accept-encoding", b""),
        )
        try:
            answer = self._find(key)
        except Exception:  # the catalog cannot be read: let Litestar answer (and say so)
            await app(scope, receive, send)
            return
        if answer is None:
            keeps = normalize_path(key[0]) == key[0]  # /stops/ and //stops are not kept
            await app(scope, receive, self._recording(key, send) if keeps else send)
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

    def _find(self, key: Key) -> Answer | None:
        generation = self.generation()
        with self._lock:
            if generation is not self._of:
                self._answers.clear()
                self._bytes, self._of = 0, generation
                return None
            kept = self._answers.get(key)
            if kept is None:
                return None
            self._answers.move_to_end(key)
            return kept[0]

    def _recording(self, key: Key, send: Send) -> Send:
        generation = self._of
        head: list[dict[str, Any]] = []
        parts: list[bytes] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy as the handler made it: outer layers change the message on its way.
                head.append({**message, "headers": tuple(message.get("headers", ()))})
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if head and not message.get("more_body", False):
                    self._keep(key, generation, head[0], b"".join(parts))
            await send(message)

        return recording_send

    def _keep(self, key: Key, generation: object, start: dict[str, Any], body: bytes) -> None:
        headers = tuple((bytes(name), bytes(value)) for name, value in start["headers"])
        etag = next((value for name, value in headers if name.lower() == b"etag"), None)
        if start.get("status") != 200 or etag is None:
            return  # not a cached body (an error, a redirect)
        answer = Answer(headers, body, etag)
        size = footprint(key, answer)
        if size > self.max_bytes // 16:
            return  # too big to keep: it would push out many others
        with self._lock:
            if generation is not self._of or key in self._answers:
                return  # the catalog changed meanwhile, or another request kept it first
            self._answers[key] = (answer, size)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._answers) > self.max_entries:
                _, (_, dropped) = self._answers.popitem(last=False)
                self._bytes -= dropped
