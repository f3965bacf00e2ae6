"""The package boundaries of the design: the public side never loads the internal side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import publishing.models, publishing.db, publishing.releases, publishing.areas",
        "import portal.settings, portal.stores, portal.progress",
        # The public site: building the app, not just importing it.
        "from pathlib import Path; from portal.settings import Settings; "
        "from portal.web.app import create_app; create_app(Settings.for_directory(Path('/tmp')))",
        "import portal.cli.serve",
    ],
)
def test_the_public_side_does_not_load_privacy(statement: str) -> None:
    loaded = modules_loaded_by(statement)
    assert not {m for m in loaded if m == "privacy" or m.startswith("privacy.")}
    assert not {m for m in loaded if m == "portal.admin" or m.startswith("portal.admin.")}
    assert "opendp" not in loaded


def test_publishing_imports_nothing_of_ours() -> None:
    loaded = modules_loaded_by(
        "import publishing.models, publishing.db, publishing.releases, "
        "publishing.catalog, publishing.figures, publishing.opendata"
    )
    ours = {m.split(".")[0] for m in loaded} & {"portal", "privacy", "migrations"}
    assert ours == set()


def test_the_public_site_has_none_of_the_consoles_routes(tmp_path: Path) -> None:
    from portal.admin.app import create_admin_app
    from portal.settings import Settings
    from portal.web.app import create_app

    settings = Settings.for_directory(tmp_path)
    site = create_app(settings).litestar
    console = create_admin_app(settings)
    handlers = [h for route in site.routes for h in route.route_handlers]
    assert handlers, "the public site has no route"
    assert all(h.handler_id.startswith(("portal.web.", "litestar.")) for h in handlers)
    console_paths = {route.path for route in console.routes}
    # The console has a page of its own at these; the public site answers none of them.
    console_only = {p for p in console_paths if p.split("/")[1] in CONSOLE_AREAS}
    assert console_only  # the list below still names the console's areas
    assert not console_only & {route.path for route in site.routes}


# The first part of every console path that the public site does not also publish under.
CONSOLE_AREAS = {
    "login",
    "logout",
    "uploads",
    "users",
    "ledger",
    "ledger.csv",
    "audit",
    "audit.csv",
    "profile",
    "corrections",
    "console.css",
    "console.js",
}
