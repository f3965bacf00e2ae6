"""The public site's connection: read-only sessions, and a check of what it could write."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from portal.settings import Settings
from portal.stores import upgrade_stores
from publishing.db import make_engine
from publishing.write_access import write_access

READ_ONLY_SQL_TRANSACTION = "25006"


@pytest.mark.postgres
def test_read_only_engines_open_read_only_sessions_on_postgres(
    postgres_settings: Settings,
) -> None:
    upgrade_stores(postgres_settings)
    # The tests' role is a superuser: only the session's read-only default stops it.
    url = make_url(postgres_settings.public_db_url).update_query_dict(
        {"options": "-c statement_timeout=4321"}
    )
    engine = make_engine(url.render_as_string(hide_password=False), read_only=True)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "4321ms"
            with pytest.raises(DBAPIError) as refused:
                connection.execute(text("DELETE FROM areas"))
        assert getattr(refused.value.orig, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION
    finally:
        engine.dispose()
    writable = make_engine(postgres_settings.public_db_url)
    try:
        with writable.connect() as connection:
            assert connection.execute(text("SHOW default_transaction_read_only")).scalar() == "off"
    finally:
        writable.dispose()


def test_sqlite_write_access_is_found_by_a_write_that_is_rolled_back(
    sqlite_settings: Settings,
) -> None:
    upgrade_stores(sqlite_settings)
    path = Path(str(make_url(sqlite_settings.public_db_url).database))
    writable = make_engine(sqlite_settings.public_db_url)
    read_only = make_engine(sqlite_settings.public_db_url, read_only=True)
    try:
        with writable.connect() as connection:  # settle WAL into the file first
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = hashlib.sha256(path.read_bytes()).hexdigest()

        assert write_access(read_only) == []
        assert write_access(writable) == ["can write to the file (it is not opened read-only)"]

        with writable.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    finally:
        writable.dispose()
        read_only.dispose()
