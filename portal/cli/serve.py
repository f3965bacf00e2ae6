"""``portal serve``: the public site under uvicorn, reading the public store only."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from portal.settings import Settings


def serve(settings: Settings, *, host: str, port: int, console: Console) -> None:
    """Run the site in this process until interrupted."""
    import uvicorn

    from migrations.runner import schema_problem
    from portal.web.app import create_app
    from publishing.db import make_engine

    engine = make_engine(settings.public_db_url, read_only=True)
    problem = schema_problem("public", engine)
    engine.dispose()
    if problem:
        Console(stderr=True, soft_wrap=True).print(f"[red]refused:[/] {problem}",
                                                   highlight=False)
        sys.exit(2)
    app = create_app(settings)
    console.print(f"[green]✓[/] the portal is serving at [bold]http://{host}:{port}[/] "
                  "(Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def exec_serve(*, host: str, port: int) -> None:
    """Replace this process with ``portal serve``, so that the site runs in a process that
    has loaded nothing of the internal side (same environment, so the same settings)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-c", "from portal.cli import main; main()",
                              "serve", "--host", host, "--port", str(port)])
