"""`portal db roles` on PostgreSQL: the site's role reads the public store and can do
nothing else; the operator's writes both stores; nobody else reaches the internal one."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from portal.cli import cli
from portal.cli.roles import RolesRequest, create_roles
from portal.settings import Settings
from portal.stores import upgrade_stores
from publishing.write_access import write_access
from tests.conftest import _drop_databases, _postgres_databases, console_role, drop_roles

pytestmark = pytest.mark.postgres
INSUFFICIENT_PRIVILEGE = "42501"


def roles_command(settings: Settings, *args: str, **env: str) -> Result:
    environ = {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "PORTAL_SITE_ROLE_PASSWORD": "",
        "PORTAL_OPERATOR_ROLE_PASSWORD": "",
        "COLUMNS": "250",
        **env,
    }
    return CliRunner().invoke(cli, ["db", "roles", *args], env=environ, catch_exceptions=False)


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role)._replace(password=None).render_as_string()


@contextmanager
def session(url: str, role: str | None = None) -> Iterator[Connection]:
    """An autocommit connection (as ``role``), without the site's read-only session
    default, so that what refuses a write below is a privilege and nothing else."""
    engine = create_engine(as_role(url, role) if role else url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SET default_transaction_read_only = off"))
            yield connection
    finally:
        engine.dispose()


def refused(connection: Connection, statement: str) -> bool:
    """Whether ``statement`` is refused for want of a privilege."""
    try:
        connection.execute(text(statement))
    except DBAPIError as error:
        return getattr(error.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
    return False


def tables(url: str) -> list[tuple[str, str]]:
    """(quoted table, quoted first column) of every table of the store's schemas."""
    with session(url) as connection:
        return [
            (f'public."{name}"', f'"{column}"')
            for name, column in connection.execute(
                text(
                    "SELECT table_name, (SELECT column_name FROM information_schema.columns c "
                    "WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name "
                    "ORDER BY ordinal_position LIMIT 1) FROM information_schema.tables t "
                    "WHERE table_schema = 'public' ORDER BY table_name"
                )
            )
        ]


def writes(table: str, column: str) -> list[str]:
    """Statements that would change ``table``, each touching no row if allowed."""
    return [
        f"INSERT INTO {table} SELECT * FROM {table} WHERE false",
        f"UPDATE {table} SET {column} = {column} WHERE false",
        f"DELETE FROM {table} WHERE false",
        f"TRUNCATE {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table} ADD COLUMN intruder integer",
    ]


@pytest.fixture(scope="module")
def prepared(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, tuple[str, str]]]:
    """Migrated stores and the roles `portal db roles` made, shared by the tests that
    leave them as they found them; databases and roles are dropped afterwards."""
    names, urls = _postgres_databases(postgres_server)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("roles"), internal_db_url=urls[0], public_db_url=urls[1]
    )
    suffix = uuid.uuid4().hex[:10]
    made = (f"portal_test_site_{suffix}", f"portal_test_operator_{suffix}")
    try:
        upgrade_stores(settings)
        result = roles_command(
            settings,
            "--site-role",
            made[0],
            "--operator-role",
            made[1],
            "--console-role",
            console_role(made[1]),
        )
        assert result.exit_code == 0, result.output
        yield settings, made
    finally:
        drop_roles(settings, [*made, console_role(made[1])])
        _drop_databases(postgres_server, names)


@pytest.fixture
def stores(prepared: tuple[Settings, tuple[str, str]]) -> Settings:
    return prepared[0]


@pytest.fixture
def roles(prepared: tuple[Settings, tuple[str, str]]) -> tuple[str, str]:
    return prepared[1]


def test_the_site_role_can_read_every_public_table_and_change_none(
    stores: Settings, roles: tuple[str, str]
) -> None:
    site = roles[0]
    public_tables = tables(stores.public_db_url)
    assert len(public_tables) >= 8
    with session(stores.public_db_url, site) as connection:
        for table, column in public_tables:
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for statement in writes(table, column):
                assert refused(connection, statement), statement
        for statement in (
            "CREATE TABLE public.intruder (x integer)",
            "CREATE TEMPORARY TABLE intruder (x integer)",
            "CREATE SCHEMA intruder",
            "SELECT nextval('public.release_cells_id_seq')",
        ):
            assert refused(connection, statement), statement


def test_the_site_role_reaches_no_internal_table(stores: Settings, roles: tuple[str, str]) -> None:
    site = roles[0]
    with (
        pytest.raises(DBAPIError, match="permission denied for database"),
        session(stores.internal_db_url, site),
    ):
        pass
    # Were the database's door opened to it, every table would still refuse it.
    database = make_url(stores.internal_db_url).database
    with session(stores.internal_db_url) as admin:
        admin.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{site}"'))
    try:
        internal_tables = tables(stores.internal_db_url)
        assert len(internal_tables) >= 8
        with session(stores.internal_db_url, site) as connection:
            for table, column in internal_tables:
                for statement in [f"SELECT * FROM {table} LIMIT 1", *writes(table, column)]:
                    assert refused(connection, statement), statement
    finally:
        with session(stores.internal_db_url) as admin:
            admin.execute(text(f'REVOKE CONNECT ON DATABASE "{database}" FROM "{site}"'))


@pytest.mark.parametrize("whose", ["operator", "console"])
def test_the_operator_and_console_roles_write_both_stores_but_cannot_reshape_them(
    stores: Settings, roles: tuple[str, str], whose: str
) -> None:
    writer = roles[1] if whose == "operator" else console_role(roles[1])
    for url in (stores.internal_db_url, stores.public_db_url):
        with session(url, writer) as connection:
            for table, column in tables(url):
                for statement in writes(table, column)[:3]:  # insert, update, delete
                    connection.execute(text(statement))
                assert refused(connection, f"DROP TABLE {table}")
            assert refused(connection, "CREATE TABLE public.intruder (x integer)")


def test_nobody_else_may_connect_to_the_internal_store(
    stores: Settings, roles: tuple[str, str]
) -> None:
    bystander = f"{roles[0]}_bystander"
    with session(stores.internal_db_url) as admin:
        admin.execute(text(f'CREATE ROLE "{bystander}" LOGIN'))
    try:
        with (
            pytest.raises(DBAPIError, match="permission denied for database"),
            session(stores.internal_db_url, bystander),
        ):
            pass
        with session(stores.public_db_url) as admin:
            found = admin.execute(
                text(
                    "SELECT n.nspname, has_schema_privilege('public', n.oid, 'CREATE') "
                    "FROM pg_namespace n WHERE n.nspname = 'public'"
                )
            ).one()
        assert found == ("public", False)
    finally:
        with session(stores.internal_db_url) as admin:
            admin.execute(text(f'DROP ROLE "{bystander}"'))


def acl_snapshot(settings: Settings, roles: tuple[str, str]) -> list[object]:
    """Every privilege and default privilege of both stores (each list of grants sorted:
    its order means nothing), and the roles' attributes."""

    def grants(column: str) -> str:
        return f"(SELECT array_agg(a::text ORDER BY a::text) FROM unnest({column}) a)"

    shot: list[object] = []
    for url in (settings.internal_db_url, settings.public_db_url):
        with session(url) as connection:
            for query in (
                f"SELECT relname, {grants('relacl')} FROM pg_class WHERE relacl IS NOT NULL "
                "ORDER BY relname",
                f"SELECT nspname, {grants('nspacl')} FROM pg_namespace ORDER BY nspname",
                f"SELECT {grants('datacl')} FROM pg_database WHERE datname = current_database()",
                "SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, "
                f"defaclobjtype, {grants('defaclacl')} FROM pg_default_acl ORDER BY 1, 2, 3",
            ):
                shot.append(connection.execute(text(query)).all())
            shot.append(
                connection.execute(
                    text(
                        "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, "
                        "rolconfig::text FROM pg_roles WHERE rolname IN (:a, :b) ORDER BY 1"
                    ),
                    {"a": roles[0], "b": roles[1]},
                ).all()
            )
    return shot


def test_running_it_again_changes_nothing(stores: Settings, roles: tuple[str, str]) -> None:
    before = acl_snapshot(stores, roles)

    again = roles_command(
        stores,
        "--site-role",
        roles[0],
        "--operator-role",
        roles[1],
        "--console-role",
        console_role(roles[1]),
    )

    assert again.exit_code == 0, again.output
    assert acl_snapshot(stores, roles) == before


def test_tables_of_later_migrations_are_covered(
    postgres_settings: Settings, role_names: tuple[str, str]
) -> None:
    """Roles set up on empty stores, then every migration run: the site reads every table
    it created and writes none; the operator writes every one of both stores."""
    site, operator = role_names
    create_roles(
        postgres_settings,
        RolesRequest(site=site, operator=operator, console=console_role(operator)),
    )

    upgrade_stores(postgres_settings)

    public = create_engine(postgres_settings.public_db_url)
    try:
        assert write_access(public, role=site) == []
    finally:
        public.dispose()
    with session(postgres_settings.public_db_url, site) as connection:
        for table, _column in tables(postgres_settings.public_db_url):
            connection.execute(text(f"SELECT count(*) FROM {table}"))
    for url in (postgres_settings.internal_db_url, postgres_settings.public_db_url):
        with session(url, operator) as connection:
            for table, column in tables(url):
                for statement in writes(table, column)[:3]:
                    connection.execute(text(statement))


def test_passwords_come_from_the_environment_and_are_kept_only_as_verifiers(
    stores: Settings, roles: tuple[str, str]
) -> None:
    site, operator = roles
    secrets = {"site": "site-Secret-4821", "operator": "op-Secret-7734"}

    result = roles_command(
        stores,
        "--site-role",
        site,
        "--operator-role",
        operator,
        "--console-role",
        console_role(operator),
        PORTAL_SITE_ROLE_PASSWORD=secrets["site"],
        PORTAL_OPERATOR_ROLE_PASSWORD=secrets["operator"],
    )

    assert result.exit_code == 0, result.output
    assert not [s for s in secrets.values() if s in result.output]
    with session(stores.public_db_url) as admin:
        stored = dict(
            admin.execute(
                text("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN (:a, :b)"),
                {"a": site, "b": operator},
            ).all()
        )
    assert all(v.startswith("SCRAM-SHA-256$") for v in stored.values()), stored
    assert not [s for s in secrets.values() for v in stored.values() if s in v]


def test_passwords_can_be_typed_and_no_option_takes_one(
    stores: Settings, roles: tuple[str, str]
) -> None:
    import click

    site, operator = roles
    result = CliRunner().invoke(
        cli,
        [
            "db",
            "roles",
            "--site-role",
            site,
            "--operator-role",
            operator,
            "--console-role",
            console_role(operator),
            "--prompt-passwords",
        ],
        input="typed-Secret-1\ntyped-Secret-1\ntyped-Secret-2\ntyped-Secret-2\n"
        "typed-Secret-3\ntyped-Secret-3\n",
        env={
            "PORTAL_INTERNAL_DB_URL": stores.internal_db_url,
            "PORTAL_PUBLIC_DB_URL": stores.public_db_url,
        },
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "typed-Secret" not in result.output
    with session(stores.public_db_url) as admin:
        count = admin.execute(
            text(
                "SELECT count(*) FROM pg_authid WHERE rolname IN (:a, :b, :c) "
                "AND rolpassword LIKE 'SCRAM-SHA-256$%'"
            ),
            {"a": site, "b": operator, "c": console_role(operator)},
        ).scalar_one()
    assert count == 3
    assert isinstance(cli, click.Group)
    db = cli.commands["db"]
    assert isinstance(db, click.Group)
    takes_values = [p.name for p in db.commands["roles"].params if not getattr(p, "is_flag", 0)]
    assert not [name for name in takes_values if name and "password" in name]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (RolesRequest(site="Site Role"), "is not a plain role name"),
        (RolesRequest(site="portal_same", operator="portal_same"), "must differ"),
        (RolesRequest(site="postgres"), "the site's role may not be 'postgres'"),
    ],
    ids=["bad name", "one role for both", "the administrator"],
)
def test_roles_refuses_what_would_not_keep_the_site_to_reading(
    postgres_server: str, tmp_path: Path, request_: RolesRequest, message: str
) -> None:
    from portal.cli.roles import RolesRefused

    # Refused before anything is created: the stores need not exist.
    missing = make_url(postgres_server).set(database="portal_test_absent").render_as_string(False)
    settings = Settings(data_dir=tmp_path, internal_db_url=missing, public_db_url=postgres_server)

    with pytest.raises(RolesRefused, match=message):
        create_roles(settings, request_)


def test_roles_refuses_one_database_for_both_stores(postgres_server: str, tmp_path: Path) -> None:
    same = Settings(
        data_dir=tmp_path, internal_db_url=postgres_server, public_db_url=postgres_server
    )

    result = roles_command(same)

    assert result.exit_code == 2
    assert "Give each store its own database" in result.stderr


def test_roles_refuses_sqlite_stores(sqlite_settings: Settings) -> None:
    result = roles_command(sqlite_settings)

    assert result.exit_code == 2
    assert "sets up PostgreSQL roles" in result.stderr


@contextmanager
def reader_with(stores: Settings, roles: tuple[str, str], *extra: str) -> Iterator[Settings]:
    """Settings whose site URL is a new role that reads like the site's and also has the
    ``extra`` grants ({role}, {operator} and {database} filled in); dropped afterwards."""
    role = f"{roles[0]}_x{uuid.uuid4().hex[:6]}"
    database = make_url(stores.public_db_url).database
    with session(stores.public_db_url) as admin:
        for statement in (
            'CREATE ROLE "{role}" LOGIN',
            'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
            'GRANT USAGE ON SCHEMA public TO "{role}"',
            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"',
            *extra,
        ):
            admin.execute(text(statement.format(role=role, operator=roles[1], database=database)))
    try:
        yield dataclasses.replace(stores, site_db_url=as_role(stores.public_db_url, role))
    finally:
        drop_roles(stores, [role])


@pytest.mark.parametrize(
    ("grants", "named"),
    [
        (['GRANT INSERT ON public.areas TO "{role}"'], "has INSERT on public.areas"),
        (['GRANT UPDATE (name) ON public.areas TO "{role}"'], "has UPDATE on public.areas"),
        (['GRANT DELETE ON public.releases TO "{role}"'], "has DELETE on public.releases"),
        (['GRANT TRUNCATE ON public.release_cells TO "{role}"'], "has TRUNCATE on public.rel"),
        (['GRANT CREATE ON SCHEMA public TO "{role}"'], "has CREATE on schema public"),
        (['GRANT CREATE ON DATABASE "{database}" TO "{role}"'], "has CREATE on database"),
        (['GRANT USAGE ON public.release_cells_id_seq TO "{role}"'], "has USAGE (sequence)"),
        (
            ["CREATE TABLE public.mine (x integer)", 'ALTER TABLE public.mine OWNER TO "{role}"'],
            "owns table mine",
        ),
        (['GRANT "{operator}" TO "{role}"'], "has DELETE, INSERT, UPDATE on public.alembic"),
        (['ALTER ROLE "{role}" CREATEROLE'], "is CREATEROLE"),
    ],
    ids=[
        "insert",
        "update a column",
        "delete",
        "truncate",
        "create in schema",
        "create in database",
        "sequence",
        "owner",
        "member of the operator",
        "createrole",
    ],
)
def test_the_site_refuses_a_connection_that_can_write(
    stores: Settings, roles: tuple[str, str], grants: list[str], named: str
) -> None:
    from portal.cli.serve import site_refusal

    with reader_with(stores, roles, *grants) as settings:
        problem = site_refusal(settings)

    assert problem is not None and named in problem, problem
    assert "`portal db roles`" in problem and "PORTAL_SITE_DB_URL" in problem


def test_the_site_accepts_the_role_portal_db_roles_made(
    stores: Settings, roles: tuple[str, str]
) -> None:
    from portal.cli.serve import site_refusal

    site = dataclasses.replace(stores, site_db_url=as_role(stores.public_db_url, roles[0]))
    assert site_refusal(site) is None
    with reader_with(stores, roles) as reader:  # reading alone is no reason to refuse
        assert site_refusal(reader) is None


def test_portal_serve_refuses_a_role_that_can_write(
    stores: Settings, roles: tuple[str, str]
) -> None:
    from tests.serving import free_port, portal_environment, run_portal

    # By default the site would use the public store's own URL: here, a superuser's.
    status, output = run_portal(portal_environment(stores), "serve", "--port", str(free_port()))
    assert status == 2, output
    assert "is a superuser" in output and "`portal db roles`" in output

    with reader_with(stores, roles, 'GRANT INSERT ON public.focus_areas TO "{role}"') as writer:
        status, output = run_portal(portal_environment(writer), "serve", "--port", str(free_port()))
    assert status == 2, output
    assert "has INSERT on public.focus_areas" in output and "PORTAL_SITE_DB_URL" in output
