"""``portal user add`` and ``portal admin serve``: the console's accounts and its server.

The console runs in its own process on its own port, never inside the public site's."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
ROLE_CHOICES = ("analyst", "approver", "auditor", "admin")


@click.group()
def user() -> None:
    """Console accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLE_CHOICES))
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
@click.pass_obj
def user_add(settings: Settings, name: str, role: str, password_stdin: bool) -> None:
    """Create a console account: analysts build drafts, approvers publish, auditors read
    the ledger and the audit log, admins manage accounts and the department profile."""
    from portal.admin.accounts import AccountError, add_user
    from portal.stores import internal_engine
    from privacy.store.audit import default_actor

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = internal_engine(settings)
    try:
        add_user(engine, name, role, password, actor=default_actor())
    except AccountError as error:
        err_console.print(f"[red]refused:[/] {escape(str(error))}", highlight=False)
        sys.exit(EXIT_REFUSED)
    finally:
        engine.dispose()
    console.print(f"[green]✓[/] account [bold]{escape(name)}[/] ({role}) added")


@click.group()
def admin() -> None:
    """The department's console."""


@admin.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option(
    "--insecure-cookies",
    is_flag=True,
    help="Send the session cookie over plain HTTP: only for a console reached on this "
    "machine without TLS (a browser keeps Secure cookies for https:// and localhost only).",
)
@click.option(
    "--forwarded-allow-ips",
    default="",
    metavar="IPS",
    help="The TLS proxy's addresses (comma-separated): trust its X-Forwarded-For, so that "
    "sign-in is throttled per client rather than for the proxy as a whole.",
)
@click.pass_obj
def admin_serve(
    settings: Settings, host: str, port: int, insecure_cookies: bool, forwarded_allow_ips: str
) -> None:
    """Serve the console (one process) until Ctrl-C."""
    import uvicorn

    from migrations.runner import schema_problem
    from portal.admin.app import create_admin_app, wrapped
    from portal.stores import internal_engine, public_engine

    for store, engine in (
        ("internal", internal_engine(settings)),
        ("public", public_engine(settings)),
    ):
        problem = schema_problem(store, engine)  # type: ignore[arg-type]
        engine.dispose()
        if problem:
            err_console.print(f"[red]refused:[/] {escape(problem)}", highlight=False)
            sys.exit(EXIT_REFUSED)
    app = wrapped(create_admin_app(settings, secure_cookies=not insecure_cookies))
    console.print(
        f"[green]✓[/] the console is serving at [bold]http://{host}:{port}[/] (Ctrl-C stops it)"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or None,
    )
