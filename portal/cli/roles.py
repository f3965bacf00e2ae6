"""``portal db roles``: the PostgreSQL roles that keep each process to what it needs.

- The site's role (default ``portal_site``) may connect to the public store and SELECT its
  tables: nothing else, and its sessions start read-only.
- The operator's role (default ``portal_operator``), which ingest and the release engine
  use, may read and write the tables of both stores (not alter or drop them).
- Nobody else reaches the internal store: CONNECT and TEMPORARY on it are taken from
  PUBLIC and given to the operator's role only (its owner and superusers keep theirs).

Grants cover the tables there are, and default privileges the tables later migrations
create, for each role that owns tables and for the role running the command (the one that
runs ``portal db upgrade``). Run again, it converges to the same privileges. Roles are
global to the PostgreSQL cluster; privileges belong to each database.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import click
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from publishing.write_access import write_access

DEFAULT_SITE_ROLE = "portal_site"
DEFAULT_OPERATOR_ROLE = "portal_operator"
DEFAULT_CONSOLE_ROLE = "portal_console"
# Passwords come from these variables or a prompt, never the command line (which any user
# of the machine can read in the process list); they reach the server only as a SCRAM
# verifier, so not even PostgreSQL's statement log sees them.
PASSWORD_VARIABLES = {
    "site": "PORTAL_SITE_ROLE_PASSWORD",
    "operator": "PORTAL_OPERATOR_ROLE_PASSWORD",
    "console": "PORTAL_CONSOLE_ROLE_PASSWORD",
}
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_USER_SCHEMAS = """
SELECT nspname FROM pg_namespace
WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' ORDER BY nspname
"""
# Who creates tables: whoever owns some now, and the role running this command.
_CREATORS = """
SELECT rolname, pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles
WHERE rolname = current_user OR oid IN (
    SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%')
ORDER BY rolname
"""
_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 2
"""
_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


class RolesRefused(Exception):
    """The roles cannot be set up as asked; the message says what to change."""


@dataclass(frozen=True)
class RolesRequest:
    """What to create: two role names and their passwords (None: leave as they are)."""

    site: str = DEFAULT_SITE_ROLE
    operator: str = DEFAULT_OPERATOR_ROLE
    site_password: str | None = field(default=None, repr=False)
    operator_password: str | None = field(default=None, repr=False)
    # The console's own role: it reads and writes both stores as the operator's does.
    console: str = DEFAULT_CONSOLE_ROLE
    console_password: str | None = field(default=None, repr=False)

    @property
    def writers(self) -> tuple[str, ...]:
        """The roles that read and write both stores."""
        return (self.operator, self.console)


@dataclass(frozen=True)
class RolesReport:
    """What was done, for the operator: no password, ever."""

    site: str
    operator: str
    admin: str
    console: str
    public_tables: int
    internal_tables: int
    site_url: str
    notes: tuple[str, ...]


def run_roles(
    settings: Settings,
    *,
    site_role: str,
    operator_role: str,
    prompt_passwords: bool,
    console: Console,
    console_role: str = DEFAULT_CONSOLE_ROLE,
) -> int:
    """``portal db roles``: set up the roles, print what each may do; return the exit code."""
    passwords = {
        kind: os.environ.get(variable) or None for kind, variable in PASSWORD_VARIABLES.items()
    }
    if prompt_passwords:
        for kind, name in (
            ("site", site_role),
            ("operator", operator_role),
            ("console", console_role),
        ):
            typed = click.prompt(
                f"password for role {name} (empty: leave it as it is)",
                default="",
                show_default=False,
                hide_input=True,
                confirmation_prompt=True,
            )
            passwords[kind] = typed or passwords[kind]
    request = RolesRequest(
        site=site_role,
        operator=operator_role,
        site_password=passwords["site"],
        operator_password=passwords["operator"],
        console=console_role,
        console_password=passwords["console"],
    )
    try:
        report = create_roles(settings, request)
    except RolesRefused as refused:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]refused:[/] {escape(str(refused))}", highlight=False
        )
        return EXIT_REFUSED
    console.print(
        f"[green]✓[/] role [bold]{report.site}[/] may connect to the public store and SELECT "
        f"its {report.public_tables} tables, nothing more; its sessions start read-only"
    )
    console.print(
        f"[green]✓[/] role [bold]{report.operator}[/] may read and write the tables of both "
        f"stores ({report.internal_tables} internal, {report.public_tables} public)"
    )
    console.print(
        f"[green]✓[/] the internal store admits {report.operator} (and its owner and "
        "superusers) only"
    )
    console.print(
        f"[green]✓[/] role [bold]{report.console}[/] (the console's, `portal admin serve`) "
        "may do the same as the operator's, and no more"
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(str(note))}", highlight=False)
    console.print(
        f"Serve the site with PORTAL_SITE_DB_URL={report.site_url} (add the role's password "
        f"if the server asks for one); run ingest and releases as {report.operator}, and "
        f"`portal db upgrade` as {report.admin}, who owns the tables."
    )
    return 0


def create_roles(settings: Settings, request: RolesRequest) -> RolesReport:
    """Create or update the two roles and set both stores' privileges; then check, as the
    catalogs see it, that the site's role can only read the public store."""
    internal_url, public_url = make_url(settings.internal_db_url), make_url(settings.public_db_url)
    _check_request(request, internal_url.get_backend_name(), public_url.get_backend_name())
    if (internal_url.host, internal_url.port, internal_url.database) == (
        public_url.host,
        public_url.port,
        public_url.database,
    ):
        raise RolesRefused(
            f"both stores are the database {public_url.database!r}: the site's role could "
            "then connect to the internal one. Give each store its own database "
            "(PORTAL_INTERNAL_DB_URL, PORTAL_PUBLIC_DB_URL)"
        )
    internal, public = create_engine(internal_url), create_engine(public_url)
    try:
        with public.begin() as connection:
            admin = connection.execute(text("SELECT current_user")).scalar_one()
            if request.site == admin:
                raise RolesRefused(
                    f"the site's role may not be {admin!r}, the role this command runs as "
                    "(it administers the stores): choose another --site-role"
                )
            _ensure_role(connection, request.site, request.site_password, site=True)
            for role, password, whose in (
                (request.operator, request.operator_password, "operator's"),
                (request.console, request.console_password, "console's"),
            ):
                if role != admin:
                    _ensure_role(connection, role, password, site=False)
                elif password:
                    raise RolesRefused(
                        f"the {whose} role is {admin!r}, the role this command runs as: "
                        "change its password with PostgreSQL's own tools, not here"
                    )
        notes: list[str] = []
        with internal.begin() as connection:
            notes += _grant_internal(connection, request)
        with public.begin() as connection:
            notes += _grant_public(connection, request)
        problems = _site_problems(internal, public, request.site)
        if problems:
            raise RolesRefused(
                f"the role {request.site!r} is not what the site needs: {'; '.join(problems)}. "
                "It has rights this command does not take away (a membership in another "
                "role, or what it owns): remove them, or choose a fresh --site-role"
            )
        with internal.connect() as i, public.connect() as p:
            internal_tables = len(i.execute(text(_TABLES)).all())
            public_tables = len(p.execute(text(_TABLES)).all())
    finally:
        internal.dispose()
        public.dispose()
    site_url = public_url.set(username=request.site)._replace(password=None)
    return RolesReport(
        site=request.site,
        operator=request.operator,
        admin=admin,
        console=request.console,
        public_tables=public_tables,
        internal_tables=internal_tables,
        site_url=site_url.render_as_string(),
        notes=tuple(notes),
    )


def _check_request(request: RolesRequest, *backends: str) -> None:
    if any(backend != "postgresql" for backend in backends):
        raise RolesRefused(
            "`portal db roles` sets up PostgreSQL roles, and the stores are not both on "
            "PostgreSQL (PORTAL_INTERNAL_DB_URL, PORTAL_PUBLIC_DB_URL). On SQLite the site "
            "opens the public file read-only; keep the internal file's permissions to the "
            "operator's account"
        )
    for option, name in (
        ("--site-role", request.site),
        ("--operator-role", request.operator),
        ("--console-role", request.console),
    ):
        if not ROLE_NAME.match(name):
            raise RolesRefused(
                f"{option} {name!r} is not a plain role name: use lower-case letters, digits "
                "and underscores, starting with a letter or underscore, at most 63"
            )
    if request.site in request.writers:
        raise RolesRefused(
            "the site's role must differ from the operator's and the console's: the site's "
            "may only read"
        )


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _ensure_role(connection: Connection, name: str, password: str | None, *, site: bool) -> None:
    role = _quote(connection, name)
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    if exists.first() is None:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    if site:
        # An existing role is brought back to a plain login: none of these may stay.
        connection.exec_driver_sql(
            f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        )
        connection.exec_driver_sql(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    if password:
        driver = connection.connection.driver_connection
        assert driver is not None
        verifier = driver.pgconn.encrypt_password(
            password.encode(), name.encode(), b"scram-sha-256"
        ).decode()
        connection.exec_driver_sql(
            f"ALTER ROLE {role} PASSWORD '{verifier.replace(chr(39), chr(39) * 2)}'"
        )


def _schemas(connection: Connection) -> list[str]:
    return [_quote(connection, name) for name in connection.execute(text(_USER_SCHEMAS)).scalars()]


def _creators(connection: Connection) -> tuple[list[str], list[str]]:
    """(roles whose future tables this command can cover, notes about the others)."""
    covered, notes = [], []
    for name, is_member in connection.execute(text(_CREATORS)):
        if is_member:
            covered.append(_quote(connection, name))
        else:
            notes.append(
                f"tables owned by {name} exist; the tables {name} creates later get no grants "
                f"until this command runs again (or runs as {name})"
            )
    return covered, notes


def _grant_internal(connection: Connection, request: RolesRequest) -> list[str]:
    q = _quote
    site = q(connection, request.site)
    operator = ", ".join(dict.fromkeys(q(connection, role) for role in request.writers))
    database = q(connection, connection.execute(text("SELECT current_database()")).scalar_one())
    run = connection.exec_driver_sql
    run(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC, {site}")
    run(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {operator}")
    creators, notes = _creators(connection)
    for schema in _schemas(connection):
        run(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"GRANT USAGE ON SCHEMA {schema} TO {operator}")
        run(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {operator}")
        run(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {operator}")
        for creator in creators:
            later = f"ALTER DEFAULT PRIVILEGES FOR ROLE {creator} IN SCHEMA {schema}"
            run(f"{later} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {operator}")
            run(f"{later} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {operator}")
            run(f"{later} REVOKE ALL ON TABLES FROM {site}")
            run(f"{later} REVOKE ALL ON SEQUENCES FROM {site}")
    return notes


def _grant_public(connection: Connection, request: RolesRequest) -> list[str]:
    q = _quote
    site = q(connection, request.site)
    operator = ", ".join(dict.fromkeys(q(connection, role) for role in request.writers))
    database = q(connection, connection.execute(text("SELECT current_database()")).scalar_one())
    run = connection.exec_driver_sql
    run(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC, {site}")
    run(f"GRANT CONNECT ON DATABASE {database} TO {site}")
    run(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {operator}")
    creators, notes = _creators(connection)
    for schema in _schemas(connection):
        run(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"GRANT USAGE ON SCHEMA {schema} TO {site}, {operator}")
        run(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {site}")
        run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {site}")
        run(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {operator}")
        run(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {operator}")
        for creator in creators:
            later = f"ALTER DEFAULT PRIVILEGES FOR ROLE {creator} IN SCHEMA {schema}"
            run(f"{later} REVOKE ALL ON TABLES FROM {site}")
            run(f"{later} REVOKE ALL ON SEQUENCES FROM {site}")
            run(f"{later} GRANT SELECT ON TABLES TO {site}")
            run(f"{later} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {operator}")
            run(f"{later} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {operator}")
    return notes


def _site_problems(internal: Engine, public: Engine, site: str) -> list[str]:
    """What the site's role could still do beyond reading the public store, as the
    catalogs of both databases say."""
    problems = [f"in the public store it {right}" for right in write_access(public, role=site)]
    with internal.connect() as connection:
        if connection.execute(
            text("SELECT has_database_privilege(:r, current_database(), 'CONNECT')"), {"r": site}
        ).scalar_one():
            problems.append("it can connect to the internal store")
        for oid, name in connection.execute(text(_TABLES)).all():
            for privilege in _TABLE_PRIVILEGES:
                if connection.execute(
                    text("SELECT has_any_column_privilege(:r, CAST(:t AS oid), :p)")
                    if privilege in ("SELECT", "INSERT", "UPDATE", "REFERENCES")
                    else text("SELECT has_table_privilege(:r, CAST(:t AS oid), :p)"),
                    {"r": site, "t": oid, "p": privilege},
                ).scalar_one():
                    problems.append(f"it has {privilege} on the internal table {name}")
    with public.connect() as connection:
        unreadable = [
            name
            for oid, name in connection.execute(text(_TABLES)).all()
            if not connection.execute(
                text("SELECT has_table_privilege(:r, CAST(:t AS oid), 'SELECT')"),
                {"r": site, "t": oid},
            ).scalar_one()
        ]
    if unreadable:
        problems.append(f"it cannot read {', '.join(unreadable)}")
    return problems
