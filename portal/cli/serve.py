"""``portal serve``: the public site under uvicorn, reading the public store only."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from portal.settings import Settings


def serve(settings: Settings, *, host: str, port: int, workers: int, console: Console) -> None:
    """Run the site until interrupted: in this process, or in ``workers`` processes that
    each build the app from the same environment."""
    import uvicorn

    from migrations.runner import schema_problem
    from portal.web.app import create_app
    from portal.web.headers import uvicorn_options
    from publishing.db import make_engine

    engine = make_engine(settings.public_db_url, read_only=True)
    problem = schema_problem("public", engine)
    engine.dispose()
    if problem:
        Console(stderr=True, soft_wrap=True).print(f"[red]refused:[/] {problem}", highlight=False)
        sys.exit(2)
    console.print(
        f"[green]✓[/] the portal is serving at [bold]http://{host}:{port}[/] "
        f"({workers} worker{'s' if workers > 1 else ''}; Ctrl-C stops it)"
    )
    if workers == 1:
        uvicorn.run(
            create_app(settings, security_headers=False),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            **uvicorn_options(),
        )
        return
    # Each worker reads the settings from the environment this process was given.
    uvicorn.run(
        "portal.web.app:app_from_environment_for_uvicorn",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        **uvicorn_options(),
    )


def default_workers() -> int:
    """One worker per CPU: at 64 connections one worker's slowest answers (p99) were 40 to
    80 ms on two cores, two workers' 6 to 17 ms (bench/serve.py)."""
    return os.cpu_count() or 1


def exec_serve(*, host: str, port: int) -> None:
    """Replace this process with ``portal serve``, so that the site runs in a process that
    has loaded nothing of the internal side (same environment, so the same settings)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-c",
            "from portal.cli import main; main()",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
        ],
    )
