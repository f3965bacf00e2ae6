"""The public site's app factory: settings in, an ASGI app out (no global app).

The site is a Litestar app inside a few plain ASGI layers, composed in :class:`Site` in the
order a request meets them: the security headers (unless the server adds them), HEAD as
GET, the limit on a request target's length, the answer cache, then Litestar.
"""

from __future__ import annotations

import multiprocessing

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.settings import Settings
from portal.web.answers import AnswerCache
from portal.web.api_series import api_router
from portal.web.errors import http_error, unexpected_error
from portal.web.head import with_head
from portal.web.headers import with_security_headers
from portal.web.language import with_language
from portal.web.pages.about import methodology
from portal.web.pages.archive import (
    codes_csv,
    datapackage,
    dictionary,
    dictionary_csv,
    release_areas_csv,
    release_page,
    releases,
    table_file,
)
from portal.web.pages.areas import areas_as_csv, areas_as_geojson
from portal.web.pages.dashboards import crime, force, home, stops
from portal.web.pages.districts import district_page, districts
from portal.web.pages.focus import focus_area, focus_areas
from portal.web.pages.reports import report_file, reports
from portal.web.query import QueryCheck
from portal.web.render import Renderer
from portal.web.state import SiteState
from portal.web.static import StaticFiles, static_file
from portal.web.target import with_short_targets
from publishing.db import make_engine
from publishing.lifeline import die_with_parent

# The site's pages and files: HTML, CSV, PDF. The OpenAPI schema describes the JSON API.
pages_router = Router(
    path="/",
    route_handlers=[
        home,
        stops,
        crime,
        force,
        districts,
        district_page,
        focus_areas,
        focus_area,
        releases,
        release_page,
        table_file,
        datapackage,
        dictionary,
        dictionary_csv,
        codes_csv,
        release_areas_csv,
        areas_as_csv,
        areas_as_geojson,
        methodology,
        reports,
        report_file,
        static_file,
    ],
    include_in_schema=False,
)


class Site:
    """The public site as a server sees it: ``litestar`` inside the plain ASGI layers.

    ``site`` is the shared state (catalog, page cache) and ``answers`` the answer cache."""

    def __init__(
        self, litestar: Litestar, site: SiteState, answers: AnswerCache, *, security_headers: bool
    ) -> None:
        self.litestar, self.site, self.answers = litestar, site, answers
        # Kept answers are replayed before routing: a cached page then costs these layers
        # and no more of Litestar (bench/serve.py).
        # The language layer sits inside: a kept answer is already in its language (the
        # query it is kept under names it), so replaying one never pays for the layer.
        app: ASGIApp = with_head(with_short_targets(answers.wrap(with_language(litestar))))
        self._app = with_security_headers(app) if security_headers else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point (lifespan events go through to Litestar)."""
        await self._app(scope, receive, send)


def create_app(settings: Settings, *, security_headers: bool = True) -> Site:
    """The public site over the public store named by ``settings``, opened read-only.

    ``security_headers=False`` leaves the security headers to the server: only for a
    server configured with :func:`portal.web.headers.uvicorn_options`."""
    static_files = StaticFiles()
    renderer = Renderer(static_files)
    site = SiteState(make_engine(settings.site_db_url, read_only=True), renderer)
    answers = AnswerCache(site.catalog)
    query_check = QueryCheck()
    app = Litestar(
        route_handlers=[pages_router, api_router],
        dependencies={
            "site": Provide(lambda: site, use_cache=True, sync_to_thread=False),
            "static_files": Provide(lambda: static_files, use_cache=True, sync_to_thread=False),
        },
        state=State({"renderer": renderer}),
        exception_handlers={HTTPException: http_error, Exception: unexpected_error},
        before_request=query_check,
        openapi_config=OpenAPIConfig(
            title="Police Transparency Portal API",
            version="1",
            description="Differentially private releases: tables of published counts with "
            "95% intervals.",
            path="/api/v1/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        on_shutdown=[site.close, lambda: site.engine.dispose()],
        # Our loggers go to the process's logging (uvicorn's under `portal serve`). Litestar's
        # own configuration would start a queue-listener thread per app that outlives it.
        logging_config=None,
        debug=False,
    )
    query_check.learn(app.routes)
    return Site(app, site, answers, security_headers=security_headers)


def app_from_environment() -> Site:
    """The site with settings read from the environment, security headers included: a
    factory for any ASGI server."""
    _die_with_parent()
    return create_app(Settings.from_env())


def app_from_environment_for_uvicorn() -> Site:
    """The site with settings read from the environment, for a uvicorn configured with
    :func:`portal.web.headers.uvicorn_options` (which then sends the security headers):
    the factory each of ``portal serve``'s worker processes calls."""
    _die_with_parent()
    return create_app(Settings.from_env(), security_headers=False)


def _die_with_parent() -> None:
    """A worker process dies with the process that started it, so that killing
    ``portal serve`` leaves no worker on the port."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        die_with_parent(parent.pid)
