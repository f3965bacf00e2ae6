"""The models match the migrations, on SQLite and PostgreSQL, and migrations run both ways."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from migrations.runner import STORES, Store, downgrade, target_metadata, upgrade
from portal.settings import Settings
from portal.stores import store_url
from publishing.db import make_engine


def differences(store: Store, url: str) -> list[Any]:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, target_metadata(store))
    engine.dispose()
    return list(diff)


@pytest.mark.parametrize("store", STORES)
def test_the_models_match_the_migrated_schema(settings: Settings, store: Store) -> None:
    # the `settings` fixture has already run `portal db upgrade` on both stores
    assert differences(store, store_url(settings, store)) == []


@pytest.mark.parametrize("store", STORES)
def test_migrations_go_down_to_nothing_and_up_again(settings: Settings, store: Store) -> None:
    url = store_url(settings, store)

    downgrade(store, url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(store, url)
    assert differences(store, url) == []


def test_each_store_holds_its_own_tables(settings: Settings) -> None:
    internal = make_engine(settings.internal_db_url)
    public = make_engine(settings.public_db_url)
    internal_tables = set(inspect(internal).get_table_names())
    public_tables = set(inspect(public).get_table_names())
    internal.dispose()
    public.dispose()

    assert {"stops", "incidents", "force_events", "ingest_batches", "audit_log"} <= internal_tables
    assert {"areas", "focus_areas", "focus_area_beats"} <= public_tables
    # Raw records must never exist in the public store.
    assert not {"stops", "incidents", "force_events"} & public_tables
