"""Shared fixtures: stores on SQLite always, and on PostgreSQL when one answers."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from publishing.catalog import Catalog, load_catalog
from publishing.db import make_engine as make_public_engine

# CI's machine runs PostgreSQL here with trust auth; override to point elsewhere.
POSTGRES_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at {POSTGRES_URL} does not answer ({type(error).__name__})"
    return None


_POSTGRES_PROBLEM = _postgres_problem()


def pytest_report_header() -> str:
    """Say at the top of the run whether PostgreSQL tests run or skip."""
    if _POSTGRES_PROBLEM:
        return f"postgres: SKIPPING PostgreSQL tests: {_POSTGRES_PROBLEM}"
    return f"postgres: running PostgreSQL tests against {POSTGRES_URL}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the PostgreSQL server, or skip the test with the reason."""
    if _POSTGRES_PROBLEM:
        pytest.skip(_POSTGRES_PROBLEM)
    return POSTGRES_URL


@pytest.fixture
def postgres_settings(postgres_server: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings whose two stores are two fresh PostgreSQL databases, dropped afterwards."""
    names, urls = _postgres_databases(postgres_server)
    try:
        yield Settings(data_dir=tmp_path, internal_db_url=urls[0], public_db_url=urls[1])
    finally:
        _drop_databases(postgres_server, names)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings whose two stores are SQLite files in a temporary folder."""
    return Settings.for_directory(tmp_path / "var")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest) -> Settings:
    """Migrated stores, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_settings" if request.param == "sqlite" else "postgres_settings"
    chosen: Settings = request.getfixturevalue(fixture)
    upgrade_stores(chosen)
    return chosen


@pytest.fixture
def engines(settings: Settings) -> Iterator[tuple[Engine, Engine]]:
    """(internal, public) engines on migrated stores."""
    internal, public = internal_engine(settings), public_engine(settings)
    yield internal, public
    internal.dispose()
    public.dispose()


@pytest.fixture
def ingested_city(engines: tuple[Engine, Engine], tmp_path: Path) -> tuple[Engine, Engine]:
    """(internal, public) engines holding a small synthetic city: its areas, 3,000 stops,
    1,500 incidents and 100 uses of force over 2023 to 2025; nothing released yet. The
    interval calibrations remembered in this process are forgotten, as in a new process."""
    from privacy.ingest import ingest_file, load_mapping
    from privacy.release.intervals import IN_PROCESS
    from privacy.synth import generate_city

    manifest = generate_city(tmp_path / "city", stops=3000, incidents=1500, force_events=100)
    for kind, path in (
        ("areas", manifest.areas),
        ("stops", manifest.stops),
        ("incidents", manifest.incidents),
        ("force", manifest.force),
    ):
        ingest_file(*engines, kind, path, load_mapping(f"synthetic-{kind}"))
    IN_PROCESS.clear()
    return engines


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or skip: a fresh clone of the project has no ../shared."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (it lives beside the project, not in it)")
    return path


def _postgres_databases(admin_url: str) -> tuple[list[str], list[str]]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"portal_test_{store}_{uuid.uuid4().hex[:10]}" for store in ("internal", "public")]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = make_url(admin_url)
    return names, [base.set(database=n).render_as_string(hide_password=False) for n in names]


def _drop_databases(admin_url: str, names: list[str]) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def published_city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A small synthetic city with every complete quarter released (what ``portal demo``
    builds), in SQLite stores and in PostgreSQL ones; on PostgreSQL the site reaches the
    public store as a role of its own that can only read it (``portal db roles``)."""
    from io import StringIO

    from rich.console import Console

    from portal.cli.demo import run_demo

    data_dir = tmp_path_factory.mktemp(f"city-{request.param}")
    names: list[str] = []
    roles: list[str] = []
    if request.param == "sqlite":
        settings = Settings.for_directory(data_dir)
    else:
        admin = request.getfixturevalue("postgres_server")
        names, urls = _postgres_databases(admin)
        settings = Settings(data_dir=data_dir, internal_db_url=urls[0], public_db_url=urls[1])
    try:
        assert (
            run_demo(
                settings,
                stops=4000,
                seed=2025,
                console=Console(file=StringIO()),
                with_reports=False,
                audit_trials=400,
            )
            == 0
        )
        if names:
            from portal.cli.roles import RolesRequest, create_roles

            suffix = uuid.uuid4().hex[:10]
            roles = [f"portal_test_site_{suffix}", f"portal_test_operator_{suffix}"]
            roles.append(console_role(roles[1]))
            report = create_roles(
                settings, RolesRequest(site=roles[0], operator=roles[1], console=roles[2])
            )
            settings = dataclasses.replace(settings, site_db_url=report.site_url)
        yield settings
    finally:
        if names:
            if roles:
                drop_roles(settings, roles)
            _drop_databases(POSTGRES_URL, names)


@pytest.fixture(scope="module")
def catalog(published_city: Settings) -> Iterator[Catalog]:
    """The published city's catalog, as the site reads it (read-only)."""
    engine = make_public_engine(published_city.public_db_url, read_only=True)
    yield load_catalog(engine)
    engine.dispose()


def drop_roles(settings: Settings, roles: list[str]) -> None:
    """Drop PostgreSQL ``roles`` (global to the cluster), first taking their privileges in
    both stores' databases away (DROP OWNED in each), so that no test leaves one behind."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        existing = [
            name
            for name in roles
            if connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}
            ).first()
        ]
    if existing:
        quoted = ", ".join(f'"{name}"' for name in existing)
        for url in (settings.internal_db_url, settings.public_db_url):
            store = create_engine(url, isolation_level="AUTOCOMMIT")
            try:
                with store.connect() as connection:
                    connection.execute(text(f"DROP OWNED BY {quoted}"))
            except Exception:  # a database already dropped holds nothing of theirs
                pass
            finally:
                store.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {quoted}"))
    admin.dispose()


@pytest.fixture
def role_names(postgres_settings: Settings) -> Iterator[tuple[str, str]]:
    """(site, operator) role names of this test alone; the roles are dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"portal_test_site_{suffix}", f"portal_test_operator_{suffix}")
    yield names
    drop_roles(postgres_settings, [*names, console_role(names[1])])


def console_role(operator: str) -> str:
    """The console's role that goes with a test's operator role (dropped with it)."""
    return f"{operator}_console"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site_settings(request: pytest.FixtureRequest) -> Settings:
    """Migrated stores and the public site's own URL: on SQLite the public file (opened
    read-only), on PostgreSQL the public database as a role `portal db roles` made."""
    if request.param == "sqlite":
        chosen: Settings = request.getfixturevalue("sqlite_settings")
        upgrade_stores(chosen)
        return chosen
    from portal.cli.roles import RolesRequest, create_roles

    chosen = request.getfixturevalue("postgres_settings")
    site, operator = request.getfixturevalue("role_names")
    upgrade_stores(chosen)
    report = create_roles(
        chosen, RolesRequest(site=site, operator=operator, console=console_role(operator))
    )
    return dataclasses.replace(chosen, site_db_url=report.site_url)
