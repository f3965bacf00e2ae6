"""The public site's app factory: settings in, a Litestar app out (no global app)."""

from __future__ import annotations

import multiprocessing

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from portal.settings import Settings
from portal.web.answers import AnswerCache
from portal.web.api import api_router
from portal.web.errors import http_error, unexpected_error
from portal.web.headers import add_security_headers
from portal.web.pages.about import methodology
from portal.web.pages.archive import (
    datapackage,
    dictionary,
    dictionary_csv,
    release_page,
    releases,
    table_file,
)
from portal.web.pages.dashboards import crime, home, stops
from portal.web.pages.focus import focus_area, focus_areas
from portal.web.pages.reports import report_file, reports
from portal.web.render import Renderer
from portal.web.state import SiteState
from portal.web.static import StaticFiles, static_file
from publishing.db import make_engine
from publishing.lifeline import die_with_parent


def create_app(settings: Settings) -> Litestar:
    """The public site over the public store named by ``settings``, opened read-only."""
    static_files = StaticFiles()
    renderer = Renderer(static_files)
    site = SiteState(make_engine(settings.site_db_url, read_only=True), renderer)
    answers = AnswerCache(site.catalog)
    app = Litestar(
        route_handlers=[
            home,
            stops,
            crime,
            focus_areas,
            focus_area,
            releases,
            release_page,
            table_file,
            datapackage,
            dictionary,
            dictionary_csv,
            methodology,
            reports,
            report_file,
            static_file,
            api_router,
        ],
        dependencies={
            "site": Provide(lambda: site, use_cache=True, sync_to_thread=False),
            "static_files": Provide(lambda: static_files, use_cache=True, sync_to_thread=False),
        },
        state=State({"renderer": renderer, "site": site, "answers": answers}),
        exception_handlers={HTTPException: http_error, Exception: unexpected_error},
        before_send=[add_security_headers],
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
    # Kept answers are replayed before routing: a cached page then costs Litestar's entry
    # (scope, the before-send hooks) and no more. Measured under bench/serve.py: 13,000 a
    # second as route middleware, 17,000 to 19,000 here.
    app.asgi_handler = answers.wrap(app.asgi_handler)
    return app


def app_from_environment() -> Litestar:
    """The site with settings read from the environment: the factory each of uvicorn's
    worker processes calls (``portal serve --workers N``). A worker dies with the process
    that started it, so that killing ``portal serve`` leaves no worker on the port."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        die_with_parent(parent.pid)
    return create_app(Settings.from_env())
