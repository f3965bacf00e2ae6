"""What both stores' Alembic environments do: migrate online, with batch mode on SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from migrations.runner import Store, target_metadata
from publishing.db import make_engine


def run_migrations(store: Store) -> None:
    """Run the migrations of ``store`` against the configured URL (online only)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by migrations.runner.alembic_config"
    # The stores' own engine: a SQLite store is switched to WAL here, by its first
    # migration, so that no later connection has to take the lock that switch needs.
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata(store),
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
