"""``portal serve``: check that the site's connection can only read the public store, then
become the site's own process (``portal.site_server``), with an environment that holds the
site's settings and nothing else."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings

# What the site's process keeps of the environment besides its own setting: what Python,
# the locale and the terminal need. Everything else (the internal store's URL, the public
# store's writing URL, PostgreSQL's PG* variables, other secrets) stays behind.
KEPT_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        "COLUMNS",
        "LINES",
        "NO_COLOR",
        "FORCE_COLOR",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
    }
)


def serve(settings: Settings, *, host: str, port: int, workers: int, console: Console) -> None:
    """Refuse (exit status 2) a public store that is not migrated or that the site's
    connection could write; otherwise replace this process with the site's."""
    problem = site_refusal(settings)
    if problem:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]refused:[/] {escape(str(problem))}", highlight=False
        )
        sys.exit(EXIT_REFUSED)
    console.print(
        f"[green]✓[/] the portal is serving at [bold]http://{host}:{port}[/] "
        f"({workers} worker{'s' if workers > 1 else ''}; Ctrl-C stops it)"
    )
    exec_site(settings, host=host, port=port, workers=workers)


def site_refusal(settings: Settings) -> str | None:
    """Why the site must not start on ``settings``'s site URL, or None."""
    from migrations.runner import schema_problem
    from portal.stores import site_engine
    from publishing.write_access import write_access

    engine = site_engine(settings)
    try:
        problem = schema_problem("public", engine)
        if problem:
            if settings.site_db_url != settings.public_db_url:
                problem += " (the site reaches it through PORTAL_SITE_DB_URL)"
            return problem
        rights = write_access(engine)
    finally:
        engine.dispose()
    if not rights:
        return None
    url = make_url(settings.site_db_url)
    if url.get_backend_name() != "postgresql":
        return (
            f"the public site could write to the public store ({'; '.join(rights)}); it "
            "must open it read-only: check PORTAL_SITE_DB_URL"
        )
    who = f"role {url.username!r}" if url.username else "the site's connection"
    return (
        f"the public site would connect to the public store as {who}, which can change it "
        f"({'; '.join(rights)}). The site must only read it: create its role with `portal db "
        "roles` and set PORTAL_SITE_DB_URL to the public store as that role (for example "
        f"{url.set(username='portal_site')._replace(password=None).render_as_string()})"
    )


def site_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of the site's process: the kept variables of ``environ``
    (and the locale's LC_*) plus the site's URL."""
    kept = {
        name: value
        for name, value in environ.items()
        if name in KEPT_VARIABLES or name.startswith("LC_")
    }
    return {**kept, "PORTAL_SITE_DB_URL": settings.site_db_url}


def exec_site(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Replace this process with the site's (same pid, so signals sent to ``portal serve``
    reach it): a fresh interpreter that has loaded nothing of the internal side and whose
    environment, which uvicorn's workers inherit, names the site's URL only."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(
        sys.executable,
        [
            sys.executable,
            "-m",
            "portal.site_server",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        site_environment(settings, os.environ),
    )


def default_workers() -> int:
    """One worker per CPU: at 64 connections one worker's slowest answers (p99) were 40 to
    80 ms on two cores, two workers' 6 to 17 ms (bench/serve.py)."""
    return os.cpu_count() or 1
