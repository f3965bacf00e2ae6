"""Settings, read once from the environment into a frozen object.

Every setting is documented in the README's "Settings" table; a test fails when one is not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# name -> (default as documented, one-line meaning); the README table mirrors this.
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "PORTAL_DATA_DIR": ("./var", "where the embedded SQLite stores and generated files live"),
    "PORTAL_INTERNAL_DB_URL": (
        "sqlite:///$PORTAL_DATA_DIR/internal.sqlite3",
        "SQLAlchemy URL of the internal store (raw records, batches, audit log)",
    ),
    "PORTAL_PUBLIC_DB_URL": (
        "sqlite:///$PORTAL_DATA_DIR/public.sqlite3",
        "SQLAlchemy URL of the public store (areas, focus areas, releases)",
    ),
    "PORTAL_SITE_DB_URL": (
        "$PORTAL_PUBLIC_DB_URL",
        "the public store as the public site reaches it: on PostgreSQL as a role that can "
        "only read it (`portal db roles`); `portal serve` refuses a URL that can write",
    ),
    "PORTAL_CONSOLE_SECRET": (
        "(made once into $PORTAL_DATA_DIR/console-secret)",
        "the console's key for its CSRF tokens; set it when the data folder is not kept",
    ),
}


@dataclass(frozen=True)
class Settings:
    """The portal's configuration. Build it with :meth:`from_env` or directly in tests."""

    data_dir: Path
    internal_db_url: str
    public_db_url: str
    # The site's own URL; empty means the public store's (SQLite opens it read-only). It is
    # filled in once built, so dataclasses.replace of public_db_url alone keeps the old one.
    site_db_url: str = ""
    # The console's CSRF key; empty means the one kept in data_dir (made on first use).
    console_secret: str = ""

    def __post_init__(self) -> None:
        if not self.site_db_url:
            object.__setattr__(self, "site_db_url", self.public_db_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PORTAL_DATA_DIR") or "./var")
        return cls(
            data_dir=data_dir,
            internal_db_url=env.get("PORTAL_INTERNAL_DB_URL")
            or sqlite_url(data_dir / "internal.sqlite3"),
            public_db_url=env.get("PORTAL_PUBLIC_DB_URL")
            or sqlite_url(data_dir / "public.sqlite3"),
            site_db_url=env.get("PORTAL_SITE_DB_URL") or "",
            console_secret=env.get("PORTAL_CONSOLE_SECRET") or "",
        )

    @classmethod
    def for_directory(cls, data_dir: Path) -> Settings:
        """Settings with both stores as SQLite files inside ``data_dir``."""
        return cls(
            data_dir=data_dir,
            internal_db_url=sqlite_url(data_dir / "internal.sqlite3"),
            public_db_url=sqlite_url(data_dir / "public.sqlite3"),
        )


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"
