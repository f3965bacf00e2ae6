"""Settings are read once from the environment, frozen, and every one is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from portal.settings import SETTINGS_DOC, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_are_two_sqlite_files_in_the_data_dir() -> None:
    settings = Settings.from_env({})

    assert settings.data_dir == Path("var")
    assert settings.internal_db_url == "sqlite:///var/internal.sqlite3"
    assert settings.public_db_url == "sqlite:///var/public.sqlite3"


def test_the_environment_overrides_each_default() -> None:
    settings = Settings.from_env(
        {
            "PORTAL_DATA_DIR": "/srv/portal",
            "PORTAL_PUBLIC_DB_URL": "postgresql+psycopg://site@db/public",
        }
    )

    assert settings.internal_db_url == "sqlite:////srv/portal/internal.sqlite3"
    assert settings.public_db_url == "postgresql+psycopg://site@db/public"


def test_the_site_reads_the_public_store_unless_given_a_url_of_its_own() -> None:
    public = "postgresql+psycopg://portal@db/public"
    site = "postgresql+psycopg://portal_site@db/public"

    assert Settings.from_env({}).site_db_url == "sqlite:///var/public.sqlite3"
    assert Settings.from_env({"PORTAL_PUBLIC_DB_URL": public}).site_db_url == public
    both = Settings.from_env({"PORTAL_PUBLIC_DB_URL": public, "PORTAL_SITE_DB_URL": site})
    assert (both.public_db_url, both.site_db_url) == (public, site)
    built = Settings(data_dir=Path("var"), internal_db_url="sqlite://", public_db_url=public)
    assert built.site_db_url == public


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.data_dir = Path("elsewhere")  # type: ignore[misc]


def test_every_setting_read_is_documented_in_the_readme() -> None:
    source = (Path(__file__).resolve().parents[1] / "portal" / "settings.py").read_text()
    read = set(re.findall(r'env\.get\("(PORTAL_[A-Z_]+)"', source))
    documented = set(re.findall(r"^\| `(PORTAL_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))

    assert read == set(SETTINGS_DOC)
    assert read == documented, "document every setting in the README's Settings table"
