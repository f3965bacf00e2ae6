"""The `portal` command as an operator uses it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portal.cli import cli
from tests.canonical import stop_row, two_districts, write_stops


def portal(data_dir: Path, *args: str) -> Result:
    # A wide terminal, so that Rich does not wrap the lines the tests read.
    env = {
        "PORTAL_DATA_DIR": str(data_dir),
        "COLUMNS": "250",
        "PORTAL_INTERNAL_DB_URL": "",
        "PORTAL_PUBLIC_DB_URL": "",
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    result = portal(tmp_path / "var", "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "internal store at sqlite:///" in result.output
    return tmp_path / "var"


def test_ingest_dry_run_prints_counts_per_category(data_dir: Path, tmp_path: Path) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 9)])

    result = portal(
        data_dir, "ingest", "stops", str(path), "--mapping", "synthetic-stops", "--dry-run"
    )

    assert result.exit_code == 0
    assert "8 rows read, 8 would be accepted, 0 rejected; 8 would be new" in result.stdout
    assert "Nothing was written." in result.stdout
    assert re.search(r"│ subject_race\s+│ black\s+│ 2\s+│", result.stdout)


def test_ingest_then_reingest(data_dir: Path, tmp_path: Path) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 4)])
    args = ("ingest", "stops", str(path), "--mapping", "synthetic-stops")

    assert "3 rows read, 3 added." in portal(data_dir, *args).stdout
    assert "0 added, 3 already present" in portal(data_dir, *args).stdout


def test_a_refused_file_exits_2_and_says_why_on_stderr(data_dir: Path, tmp_path: Path) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(1, outcome="ticket")])

    result = portal(data_dir, "ingest", "stops", str(path), "--mapping", "synthetic-stops")

    assert result.exit_code == 2
    assert "line 2, column 'outcome', value 'ticket'" in result.stderr
    assert "--skip-invalid" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "stops", "{missing}", "--mapping", "synthetic-stops"), "no such file"),
        (("ingest", "stops", "{file}", "--mapping", "atlantis"), "no mapping named 'atlantis'"),
        (
            ("ingest", "incidents", "{file}", "--mapping", "synthetic-stops"),
            "mapping 'synthetic-stops' is for stops, not incidents",
        ),
    ],
    ids=["missing file", "unknown mapping", "wrong kind"],
)
def test_operator_mistakes_get_a_clear_message(
    data_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    paths = {"file": tmp_path / "x.csv", "missing": tmp_path / "nope.csv"}

    result = portal(data_dir, *(a.format(**paths) for a in args))

    assert result.exit_code == 2
    assert message in result.stderr


def test_mappings_lists_the_shipped_ones(tmp_path: Path) -> None:
    result = portal(tmp_path, "mappings")
    assert "minneapolis-stops" in result.stdout and "stanford-opp" in result.stdout


def test_the_demo_builds_everything_and_is_repeatable(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"

    first = portal(data_dir, "demo", "--stops", "4000", "--no-serve", "--no-reports")
    second = portal(data_dir, "demo", "--stops", "4000", "--no-serve", "--no-reports")

    assert first.exit_code == 0 and second.exit_code == 0
    assert "│ stops.csv       │ stops       │ 4,000     │ 4,000 │ 0" in first.stdout
    assert "│ stops.csv       │ stops       │ 4,000     │ 0     │ 4,000" in second.stdout
    assert "Public reference data: 1 city, 8 districts, 80 beats." in first.stdout
    assert "releases: 12 built, 0 already published (12 complete quarters)" in first.stdout
    assert "releases: 0 built, 12 already published" in second.stdout
    listed = json.loads(portal(data_dir, "release", "list", "--json").stdout)
    assert sorted(r["period"] for r in listed) == [
        f"{y}Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)
    ]
    assert all(r["created_at"].endswith("+00:00") for r in listed)  # with its offset
    budget = json.loads(portal(data_dir, "budget", "--json").stdout)
    assert all(
        (b["currency"], b["spent"], b["unpublished"]) == ("rho", pytest.approx(0.5), [])
        for b in budget["periods"]
    )
    truth = json.loads((data_dir / "synthetic" / "truth.json").read_text())
    assert truth["seed"] == 2025


def test_release_build_refusals_exit_2_with_the_reason(data_dir: Path) -> None:
    result = portal(data_dir, "release", "build", "--period", "2024Q3")
    assert result.exit_code == 2
    assert "run `portal ingest areas FILE --mapping NAME` first" in result.stderr

    bad = portal(data_dir, "release", "build", "--period", "2024-09")
    assert bad.exit_code == 2 and "'2024-09' is not a quarter; write it like 2025Q3" in bad.stderr


def test_the_demo_ends_serving_the_site_in_a_process_of_its_own(tmp_path: Path) -> None:
    """`portal demo` ends with the site serving its releases and prints the address; the
    site runs in a fresh process (the demo replaces itself), which loads nothing private."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "250"}
    env.pop("PORTAL_INTERNAL_DB_URL", None)
    env.pop("PORTAL_PUBLIC_DB_URL", None)
    command = [
        sys.executable,
        "-c",
        "from portal.cli import main; main()",
        "demo",
        "--stops",
        "4000",
        "--no-reports",
        "--port",
        str(port),
    ]
    demo = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        lines = []
        deadline = time.monotonic() + 240
        assert demo.stdout is not None
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            lines.append(line)
            if "serving at" in line or not line:
                break
        assert f"serving at http://127.0.0.1:{port}" in "".join(lines), "".join(lines)
        releases: list[dict[str, object]] = []
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/releases") as r:
                    releases = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        assert len({r["period"] for r in releases}) >= 8
        with open(f"/proc/{demo.pid}/cmdline", "rb") as cmdline:
            assert b"portal.site_server" in cmdline.read()  # the same pid, now the site's
        with open(f"/proc/{demo.pid}/environ", "rb") as environ:
            # The site is given its own URL and not the data folder (the internal file's).
            assert not re.search(rb"(^|\0)PORTAL_DATA_DIR=", environ.read())
    finally:
        demo.terminate()
        demo.wait(timeout=20)
        if demo.stdout:
            demo.stdout.close()


def test_serve_refuses_a_public_store_that_is_not_migrated(tmp_path: Path) -> None:
    result = portal(tmp_path / "var", "serve", "--port", "1")

    assert result.exit_code == 2
    assert "the public store cannot be read (unable to open database file)" in result.stderr
    assert "`portal db upgrade`" in result.stderr


def test_every_command_is_documented_in_the_readme() -> None:
    import click

    def commands(group: click.Group, prefix: str) -> list[str]:
        found = []
        for name, command in group.commands.items():
            path = f"{prefix} {name}"
            if isinstance(command, click.Group):
                found.extend(commands(command, path))
            else:
                found.append(path)
        return found

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    documented = set(re.findall(r"^\| `(portal(?: [a-z][a-z-]*)+)", readme, re.MULTILINE))
    assert isinstance(cli, click.Group)
    missing = [c for c in commands(cli, "portal") if c not in documented]
    assert missing == [], "document every command in the README's command table"


# What only building a release needs: a command that does not release never imports it.
ENGINE_MODULES = ("opendp", "scipy", "numpy", "polars", "sklearn", "plotly", "weasyprint")


@pytest.mark.parametrize("args", [["--help"], ["release", "list"], ["budget"]])
def test_commands_that_do_not_release_import_no_engine(data_dir: Path, args: list[str]) -> None:
    program = (
        "import sys\n"
        "from portal.cli import main\n"
        f"sys.argv = ['portal', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        f"print('IMPORTED', sorted(m for m in {ENGINE_MODULES!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "COLUMNS": "250"}
    env.pop("PORTAL_INTERNAL_DB_URL", None)
    env.pop("PORTAL_PUBLIC_DB_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "IMPORTED []"


def test_a_release_can_be_built_without_its_reports(data_dir: Path, tmp_path: Path) -> None:
    areas = two_districts(tmp_path / "areas.csv")
    stops = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(1, 40)])
    for kind, path in (("areas", areas), ("stops", stops)):
        loaded = portal(data_dir, "ingest", kind, str(path), "--mapping", f"synthetic-{kind}")
        assert loaded.exit_code == 0, loaded.output

    result = portal(data_dir, "release", "build", "--period", "2024Q3", "--no-report")

    assert result.exit_code == 0, result.output
    assert "released 2024Q3 as" in result.stdout
    assert "its reports: `portal report build --period 2024Q3`" in result.stdout
    assert not list(data_dir.glob("reports/*.pdf"))  # no browser started, no PDF written
    listed = json.loads(portal(data_dir, "release", "list", "--json").stdout)
    assert [r["period"] for r in listed] == ["2024Q3"]
