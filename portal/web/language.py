"""The reader's language, from ``?lang=``: plain ASGI middleware that speaks it for the
rest of the request (:func:`publishing.i18n.speaking`), so a page's URL names its language
and every cache (the answers, the pages, a proxy) keeps one copy per language.

English needs no parameter; ``?lang=es`` is Spanish. Any other value is left to the routes,
whose query check refuses it with a 400 that lists the languages. Pages speak it; files and
the API do not: open data (CSV, JSON, the data package) and the API are the same bytes in
every language, in English, so that a file's URL always names one content.
"""

from __future__ import annotations

import contextvars
from urllib.parse import parse_qsl, urlencode

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from publishing.i18n import DEFAULT, LANGUAGES, language, speaking

LANG = "lang"  # the query parameter every page takes
# The request being answered, for the language switch (read only when a page is rendered).
_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("scope", default=None)


def language_of(query_string: bytes) -> str | None:
    """The language a query string asks for: ``None`` when it asks for none or for one the
    site does not speak."""
    if b"lang=" not in query_string:
        return DEFAULT
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == LANG:
            return value if value in LANGUAGES else None
    return DEFAULT


def _speaks(path: str) -> bool:
    """Whether the answer at ``path`` is in the reader's language: pages are; files and the
    API are not."""
    return not path.startswith("/api/") and "." not in path.rsplit("/", 1)[-1]


def with_language(app: ASGIApp) -> ASGIApp:
    """``app`` speaking the language each request's ``?lang=`` asks for. A request without
    one costs a context variable set and reset (most requests: English pages, files)."""

    async def speak(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        token = _scope.set(scope)
        try:
            query = scope.get("query_string", b"")
            if b"lang=" in query and _speaks(scope["path"]):
                with speaking(language_of(query) or DEFAULT):
                    await app(scope, receive, send)
            else:
                await app(scope, receive, send)
        finally:
            _scope.reset(token)

    return speak


def in_language(href: str, code: str | None = None) -> str:
    """A link of this site in ``code`` (the language being spoken when None): ``/stops``
    becomes ``/stops?lang=es`` in Spanish and stays ``/stops`` in English."""
    code = code or language()
    if code == DEFAULT or not href.startswith("/") or href.startswith("/static/"):
        return href
    path, hash_mark, anchor = href.partition("#")
    joined = f"{path}{'&' if '?' in path else '?'}{LANG}={code}"
    return joined + hash_mark + anchor


def this_page_in(code: str) -> str:
    """The page being answered, in another language (its other query parameters kept)."""
    scope = _scope.get()
    if scope is None:
        return in_language("/", code)
    raw = scope.get("query_string", b"").decode("latin-1")
    pairs = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != LANG]
    query = urlencode(pairs + ([(LANG, code)] if code != DEFAULT else []))
    return scope["path"] + (f"?{query}" if query else "")
