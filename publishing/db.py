"""Engines for the two stores, with the settings every connection needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# A session option, so that every transaction of the connection starts read-only.
_READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout. With
    ``read_only`` a bug cannot write through it: SQLite is opened in its read-only mode,
    and PostgreSQL sessions start with ``default_transaction_read_only`` (a fence behind
    the role's privileges, which are what really keep the public site from writing)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        if read_only:
            kwargs["connect_args"] = _read_only_connect_args(
                parsed.query.get("options"), dict(kwargs.get("connect_args") or {})
            )
        return create_engine(url, **kwargs)
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


def _read_only_connect_args(
    url_options: str | tuple[str, ...] | None, connect_args: dict[str, Any]
) -> dict[str, Any]:
    """``connect_args`` whose ``options`` (which replace the URL's) keep what the URL or
    the caller asked for and add the read-only default."""
    given = connect_args.get("options") or url_options or ""
    if isinstance(given, tuple):
        given = " ".join(given)
    connect_args["options"] = f"{given} {_READ_ONLY_OPTION}".strip()
    return connect_args
