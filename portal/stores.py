"""The two stores as the settings name them: engines and migrations."""

from __future__ import annotations

from sqlalchemy import Engine

from portal.settings import Settings
from publishing.db import make_engine


def store_url(settings: Settings, store: str) -> str:
    """The URL of ``store`` ("internal" or "public")."""
    return settings.internal_db_url if store == "internal" else settings.public_db_url


def upgrade_stores(settings: Settings) -> list[tuple[str, str]]:
    """Migrate both stores to head; return (store, url) pairs."""
    # Alembic is imported here, by the commands that migrate, not by every command.
    from migrations.runner import STORES, upgrade

    done: list[tuple[str, str]] = []
    for store in STORES:
        url = store_url(settings, store)
        make_engine(url).dispose()  # creates the SQLite file's folder
        upgrade(store, url)
        done.append((store, url))
    return done


def internal_engine(settings: Settings) -> Engine:
    """An engine on the internal store (operators' tools only)."""
    return make_engine(settings.internal_db_url)


def public_engine(settings: Settings, *, read_only: bool = False) -> Engine:
    """An engine on the public store; the public site opens it read-only."""
    return make_engine(settings.public_db_url, read_only=read_only)


def site_engine(settings: Settings) -> Engine:
    """An engine on the public store as the public site reaches it: its own URL, read-only."""
    return make_engine(settings.site_db_url, read_only=True)
