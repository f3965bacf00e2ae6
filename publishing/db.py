"""Engines for the two stores, with the settings every connection needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout; with
    ``read_only`` it is opened in SQLite's read-only mode, so a bug cannot write to it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, **kwargs)
    database = parsed.database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
    if read_only and database:
        url = f"sqlite:///file:{database}?mode=ro&uri=true"
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not read_only:
            # Switching to WAL takes a lock that does not wait on the busy timeout: sixteen
            # processes connecting at once could fail with "database is locked" although
            # the store has been in WAL since its first connection. So only when it is not.
            mode = cursor.execute("PRAGMA journal_mode").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return engine
