"""Run Alembic for one store without an ``alembic.ini``: the URL comes from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

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


def target_metadata(store: Store) -> MetaData:
    """The models' metadata of ``store``."""
    if store == "internal":
        from privacy.store.models import InternalBase

        return InternalBase.metadata
    from publishing.models import PublicBase

    return PublicBase.metadata
