"""Run Alembic for one store without an ``alembic.ini``: the URL comes from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

Store = Literal["internal", "public"]
STORES: tuple[Store, ...] = ("internal", "public")
_HERE = Path(__file__).resolve().parent


def alembic_config(store: Store, url: str) -> Config:
    """An Alembic configuration for ``store`` at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(_HERE / store))
    # ConfigParser treats "%" as interpolation; URLs may carry percent-escapes.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["store"] = store
    return config


def upgrade(store: Store, url: str, revision: str = "head") -> None:
    """Migrate ``store`` at ``url`` to ``revision``."""
    command.upgrade(alembic_config(store, url), revision)


def downgrade(store: Store, url: str, revision: str) -> None:
    """Migrate ``store`` at ``url`` down to ``revision``."""
    command.downgrade(alembic_config(store, url), revision)


def schema_problem(store: Store, engine: Engine) -> str | None:
    """Why ``store`` at ``engine`` is not at the schema this code expects, or None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(_HERE / store)).get_current_head()
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as error:  # an unreachable database is a problem worth naming
        reason = getattr(error, "orig", None) or error
        return (
            f"the {store} store cannot be read ({reason}): create and migrate it with "
            f"`portal db upgrade` (or `portal demo`), or check PORTAL_{store.upper()}_DB_URL"
        )
    if current != head:
        found = f"at revision {current}" if current else "not migrated"
        return (
            f"the {store} store is {found}, and this version of the portal needs {head}: "
            "run `portal db upgrade`"
        )
    return None


def target_metadata(store: Store) -> MetaData:
    """The models' metadata of ``store``."""
    if store == "internal":
        import privacy.store.console  # noqa: F401  (its tables join the metadata)
        from privacy.store.models import InternalBase

        return InternalBase.metadata
    from publishing.models import PublicBase

    return PublicBase.metadata
