"""Alembic environment of the internal store."""

from __future__ import annotations

from migrations.env_common import run_migrations

run_migrations("internal")
