"""What the console costs over the same work done from the shell, side by side.

    .venv/bin/python bench/console.py [--rounds 3] [--file PATH]

Each round, in fresh SQLite stores with Minneapolis's areas, and interleaved:

- *check*: the console's upload and check of the stops file (the bytes sent through the
  app, a dry-run ingest and the mapping check, in its worker thread) against the shell's
  ``ingest_file(dry_run=True)``;
- *commit*: the console's commit of the checked upload against ``ingest_file``;
- *publish*: building a draft of 2017Q3 and publishing it through the console (two people,
  two requests) against ``build_release``, the shell's one step;
- *sign in*: one sign-in (argon2id verification, session written) against a GET of the
  sign-in page.

Prints each median and the console's ratio to the shell's. Not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.admin.app import create_admin_app  # noqa: E402
from portal.admin.uploads import wait_idle  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.build import build_release  # noqa: E402
from privacy.release.policy import load_policy  # noqa: E402
from tests.console import add_people, console  # noqa: E402

AREAS = ROOT / "tests" / "fixtures" / "mpls_neighborhood_demographics_2015.csv"
STOPS = ROOT.parent / "shared" / "data" / "minneapolis" / "mpls_stops_2017.csv"
PERIOD = "2017Q3"


def fresh(folder: Path) -> Settings:
    """Migrated SQLite stores holding Minneapolis's areas and the console's people."""
    settings = Settings.for_directory(folder)
    upgrade_stores(settings)
    internal, public = internal_engine(settings), public_engine(settings)
    ingest_file(internal, public, "areas", AREAS, load_mapping("minneapolis-areas"))
    add_people(internal)
    internal.dispose()
    public.dispose()
    return settings


def shell_round(folder: Path, stops: Path) -> dict[str, float]:
    """The shell's way: ingest_file and build_release."""
    settings = fresh(folder)
    internal, public = internal_engine(settings), public_engine(settings)
    mapping = load_mapping("minneapolis-stops")
    times = {
        "check": timed(
            lambda: ingest_file(
                internal, public, "stops", stops, mapping, dry_run=True, parallel=False
            )
        ),
        "commit": timed(
            lambda: ingest_file(internal, public, "stops", stops, mapping, parallel=False)
        ),
        "publish": timed(
            lambda: build_release(internal, public, PERIOD, load_policy("quarterly"), actor="ana")
        ),
    }
    internal.dispose()
    public.dispose()
    return times


def console_round(folder: Path, stops: Path) -> dict[str, float]:
    """The console's way, through the app as a browser would reach it."""
    settings = fresh(folder)
    content = stops.read_bytes()
    with console(create_admin_app(settings, build_reports=False)) as desk:
        ana, april = desk.person("ana"), desk.person("april")
        times: dict[str, float] = {}
        started = time.perf_counter()
        sent = ana.upload("/uploads", "stops", "minneapolis-stops", stops.name, content)
        wait_idle(desk.state)
        times["check"] = time.perf_counter() - started
        page = sent.headers["location"]
        started = time.perf_counter()
        ana.post(f"{page}/commit")
        wait_idle(desk.state)
        times["commit"] = time.perf_counter() - started
        started = time.perf_counter()
        built = ana.post("/releases/drafts", period=PERIOD, policy="quarterly")
        draft = built.headers["location"]
        published = april.post(f"{draft}/publish")
        times["publish"] = time.perf_counter() - started
        assert published.status_code == 303, published.text
        bystander = desk.person("audrey", signed_in=False)
        times["page"] = timed(lambda: bystander.get("/login"))
        times["sign in"] = timed(lambda: bystander.sign_in())
    return times


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", type=Path, default=STOPS)
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} is missing: pass --file with a Minneapolis stops export")
    shell: list[dict[str, float]] = []
    web: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            shell.append(shell_round(Path(tmp) / f"shell{round_}", args.file))
            web.append(console_round(Path(tmp) / f"console{round_}", args.file))
            print(f"round {round_ + 1}: shell {shell[-1]}  console {web[-1]}", flush=True)
    print(f"\n{args.file.name}, {args.rounds} rounds, medians (s):")
    print(f"{'step':<10}{'shell':>10}{'console':>10}{'ratio':>8}")
    for step in ("check", "commit", "publish"):
        a = statistics.median(r[step] for r in shell)
        b = statistics.median(r[step] for r in web)
        print(f"{step:<10}{a:>10.3f}{b:>10.3f}{b / a:>7.2f}x")
    page = statistics.median(r["page"] for r in web)
    sign_in = statistics.median(r["sign in"] for r in web)
    print(f"{'sign in':<10}{page:>10.3f}{sign_in:>10.3f}{sign_in / page:>7.2f}x  (against a GET)")


if __name__ == "__main__":
    main()
