"""The package boundaries of the design: the public side never loads the internal side."""

from __future__ import annotations

import subprocess
import sys

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
    assert "opendp" not in loaded


def test_publishing_imports_nothing_of_ours() -> None:
    loaded = modules_loaded_by(
        "import publishing.models, publishing.db, publishing.releases, "
        "publishing.catalog, publishing.figures, publishing.opendata"
    )
    ours = {m.split(".")[0] for m in loaded} & {"portal", "privacy", "migrations"}
    assert ours == set()
