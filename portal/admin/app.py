"""The console's app factory: settings in, a Litestar app out, never the public site's.

Sessions live in the internal store (the cookie holds only their key); every form carries
Litestar's CSRF token; one guard checks every route's permission; every refusal is a 4xx
page and a line in the audit log. The security headers wrap it as plain ASGI, as they wrap
the public site.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from portal.admin.errors import audit_refusal, refusal_page
from portal.admin.guards import require_permission
from portal.admin.pages import auth, profile, records, releases, uploads, users
from portal.admin.pages.uploads import MAX_UPLOAD_BYTES
from portal.admin.session_store import SessionStore
from portal.admin.state import SESSION_COOKIE, ConsoleState
from portal.settings import Settings
from portal.web.headers import with_security_headers
from publishing.db import make_engine

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = (Path(__file__).resolve().parent / "console.css").read_bytes()
SCRIPT = (Path(__file__).resolve().parent / "console.js").read_bytes()
SESSION_SECONDS = 30 * 60  # idle time after which a session expires
CSRF_COOKIE = "portal_console_csrf"


@get("/console.css", opt={"public": True}, include_in_schema=False)
async def stylesheet() -> Response[bytes]:
    """The console's only stylesheet."""
    return Response(
        STYLESHEET,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@get("/console.js", opt={"public": True}, include_in_schema=False)
async def script() -> Response[bytes]:
    """The console's only script: it follows an upload's progress."""
    return Response(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A 500 that says nothing of the internals (the log has them)."""
    log.error("the console failed on %s", request.url.path, exc_info=error)
    return refusal_page(request, HTTPException(status_code=500, detail="Something went wrong."))


def console_secret(settings: Settings) -> str:
    """The CSRF key: the setting, else the one kept in the data folder (made once)."""
    if settings.console_secret:
        return settings.console_secret
    path = settings.data_dir / "console-secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def create_admin_app(
    settings: Settings,
    *,
    secure_cookies: bool = True,
    build_reports: bool = True,
    session_seconds: int = SESSION_SECONDS,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> Litestar:
    """The console over the stores named by ``settings``. ``secure_cookies=False`` only for
    a console reached over plain HTTP on this machine (`portal admin serve --insecure`)."""
    internal = make_engine(settings.internal_db_url)
    public = make_engine(settings.public_db_url)
    state = ConsoleState(
        internal,
        public,
        settings.data_dir / "uploads",
        settings.data_dir / "policies",
        settings.data_dir / "mappings",
        build_reports=build_reports,
        max_upload_bytes=max_upload_bytes,
    )
    sessions = ServerSideSessionConfig(
        key=SESSION_COOKIE,
        max_age=session_seconds,
        # Every response stores the session again, its expiry moved on: renewing it as it
        # is loaded too would write the store twice a request.
        renew_on_access=False,
        secure=secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return Litestar(
        route_handlers=[
            stylesheet,
            auth.login_form,
            auth.login,
            auth.logout,
            auth.password_form,
            auth.change_own_password,
            releases.home,
            releases.releases,
            releases.plan,
            releases.build,
            releases.correct,
            releases.draft_page,
            releases.draft_report_pdf,
            releases.publish,
            releases.reject,
            releases.withdraw,
            releases.confirm,
            releases.cancel,
            records.ledger,
            records.ledger_csv,
            records.audit_log,
            records.audit_csv,
            uploads.uploads,
            uploads.upload,
            uploads.upload_page,
            uploads.upload_progress,
            uploads.commit,
            uploads.discard,
            script,
            profile.profile,
            profile.propose,
            profile.approve,
            profile.reject,
            users.users,
            users.create_user,
            users.disable_user,
            users.enable_user,
            users.change_role,
        ],
        guards=[require_permission],
        middleware=[sessions.middleware],
        stores={"sessions": SessionStore(internal)},
        csrf_config=CSRFConfig(
            secret=console_secret(settings),
            cookie_name=CSRF_COOKIE,
            cookie_secure=secure_cookies,
            cookie_httponly=True,
            cookie_samesite="strict",
        ),
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        exception_handlers={HTTPException: refusal_page, Exception: unexpected},
        after_exception=[audit_refusal],
        state=State({"console": state}),
        on_shutdown=[lambda: state.worker.shutdown(wait=True), internal.dispose, public.dispose],
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


def wrapped(app: Litestar) -> ASGIApp:
    """The console inside the same security headers as the public site."""
    return with_security_headers(app)
