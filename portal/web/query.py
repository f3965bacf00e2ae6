"""Query strings: each route takes the parameters it declares, once each, and no others.

Litestar ignores a query parameter no handler declares, so ``/stops?x=1``, ``/stops?x=2``
... would each be a page of their own to every cache. Here an unknown parameter is a 400 that
names it and lists those the route takes, and a parameter given twice is a 400 too: a valid
URL has a finite number of spellings, and :func:`canonical_query` maps them all to one.

A route's parameters are those its handler declares with ``FromQuery`` (read from the
handler's parsed signature). A handler whose parameters depend on the data (the API's table
filters, one per dimension) says so with :data:`CHECKS_ITS_OWN_QUERY` in its ``opt`` and
refuses unknown ones itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request
from litestar.enums import ParamType
from litestar.exceptions import ImproperlyConfiguredException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg
from litestar.routes import BaseRoute

from portal.web.language import LANG, language_of
from publishing.i18n import LANGUAGE_NAMES, LANGUAGES, _

CHECKS_ITS_OWN_QUERY = "checks_its_own_query"  # an ``opt`` key: the handler refuses unknowns
_NOT_QUERY = {"request", "scope", "state", "headers", "cookies", "socket"}
_PLAIN_PAIR = re.compile(rb"[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*")


def canonical_query(query_string: bytes) -> bytes:
    """The query as Litestar reads it (decoded the same way), its parameters sorted: two
    query strings with the same canonical form mean the same to every handler."""
    if not query_string or _PLAIN_PAIR.fullmatch(query_string):
        return query_string  # one plain pair is its own canonical form (the common case)
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, separator="&")
    return urlencode(sorted(pairs)).encode("ascii")


def declared_query(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameters ``handler`` declares (``FromQuery``); raises when a parameter's
    kind is left for Litestar to guess, since a guessed query parameter would be refused."""
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kind = field.kwarg_definition
        if field.is_di_field or name in _NOT_QUERY:
            continue
        if not isinstance(kind, ParameterKwarg):
            raise ImproperlyConfiguredException(
                f"{handler}: declare the parameter {name!r} as FromQuery[...], FromPath[...] "
                "or NamedDependency[...] so that its query parameters are known"
            )
        if kind.param_type is ParamType.QUERY:
            names.add(kind.name or name)
    return frozenset(names)


class QueryCheck:
    """A ``before_request`` hook that refuses unknown and repeated query parameters.

    :meth:`learn` reads the routes' handlers once the app is built; the hook then costs a
    dictionary look-up per request, and nothing at all when there is no query string."""

    def __init__(self) -> None:
        self._taken: dict[BaseRouteHandler, frozenset[str] | None] = {}

    def learn(self, routes: Iterable[BaseRoute]) -> None:
        """Read what every handler of ``routes`` takes (None: it checks its own)."""
        for route in routes:
            for handler in getattr(route, "route_handlers", ()):
                own = bool(handler.opt.get(CHECKS_ITS_OWN_QUERY))
                self._taken[handler] = None if own else declared_query(handler)

    async def __call__(self, request: Request[Any, Any, Any]) -> None:
        """Raise a 400 for a parameter the route does not take or one given twice."""
        if not request.scope.get("query_string"):
            return
        given = Counter(name for name, _value in request.query_params.multi_items())
        repeated = sorted(name for name, count in given.items() if count > 1)
        if repeated:
            raise ValidationException(
                _(
                    "the query parameter {name!r} is given {times} times; give each parameter once"
                ).format(name=repeated[0][:40], times=given[repeated[0]])
            )
        if given.get(LANG) and language_of(request.scope["query_string"]) is None:
            raise ValidationException(
                f"lang={request.query_params[LANG][:20]!r} is not a language of this site; "
                f"it speaks {', '.join(f'{c} ({LANGUAGE_NAMES[c]})' for c in LANGUAGES)}"
            )
        handler = request.route_handler
        if handler not in self._taken:
            self._taken[handler] = declared_query(handler)  # a route added after learn()
        taken = self._taken[handler]
        if taken is None:
            return
        unknown = sorted(set(given) - taken - {LANG})
        if unknown:
            takes = (
                _("it takes {names}").format(names=", ".join(sorted(taken)))
                if taken
                else _("it takes no query parameters")
            )
            raise ValidationException(
                _("{path} does not take the query parameter {name!r}; {takes}").format(
                    path=request.url.path[:200], name=unknown[0][:40], takes=takes
                )
            )
