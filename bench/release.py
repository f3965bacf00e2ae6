"""A full release against the bare GROUP BY queries it needs, on the same store.

    .venv/bin/python bench/release.py [--stops 1000000] [--rounds 5]

Generates a synthetic city (stops, half as many incidents, 1% force events), ingests it into
fresh stores (SQLite; PostgreSQL too when it answers), then:

* round after round, the store's first release as ``portal release build`` makes it: in a
  process of its own, on a fresh copy of the ingested store (nothing stored for the
  shape; the copy written out to disk before the round starts), the policy's bare GROUP
  BYs of 2024Q1 then its release;
* in this process, for each of four quarters, the policy's GROUP BYs alone and the whole
  release (aggregation, measurements, ledger charge, noise, post-processing, intervals,
  writing the release), side by side. Each quarter starts with nothing remembered in
  memory: the first release of a store simulates the intervals' calibration; the second is
  planned first (`portal release plan`, which simulates it again after the bench removes
  it, timed apart); the last two read it back.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402
    POSTGRES_URL,
    drop_databases,
    postgres_answers,
    postgres_databases,
    quiet_disk,
)
from sqlalchemy import create_engine, delete, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import privacy.release.build as build  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.aggregate import count_table  # noqa: E402
from privacy.release.intervals import IN_PROCESS  # noqa: E402
from privacy.release.periods import Quarter  # noqa: E402
from privacy.release.plan import plan_release  # noqa: E402
from privacy.release.policy import load_policy  # noqa: E402
from privacy.store.models import IntervalCalibration  # noqa: E402
from privacy.synth import generate_city  # noqa: E402
from publishing.areas import area_codes  # noqa: E402

QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")


def city(stops: int) -> Path:
    out = ROOT / "bench" / "out" / f"release-city-{stops}"
    if not (out / "truth.json").exists():
        print(f"generating {stops:,} synthetic stops ...", file=sys.stderr)
        generate_city(out, stops=stops, incidents=stops // 2, force_events=stops // 100)
    return out


def ingest_city(settings: Settings, city_dir: Path) -> None:
    """Migrate fresh stores and ingest the city into them."""
    upgrade_stores(settings)
    internal, public = internal_engine(settings), public_engine(settings)
    for kind in ("areas", "stops", "incidents", "force"):
        ingest_file(
            internal, public, kind, city_dir / f"{kind}.csv", load_mapping(f"synthetic-{kind}")
        )
    internal.dispose()
    public.dispose()


def first_in_own_process(label: str, fresh_copy: Callable[[], Settings], rounds: int) -> None:
    """The store's first release, round after round, each in a process of its own on a
    fresh copy of the ingested store, as ``portal release build`` makes it."""
    ratios = []
    for _ in range(rounds):
        settings = fresh_copy()
        # The copy just made, written out: the kernel would write it back during the round,
        # taking CPU from a release that keeps both cores busy more than from bare GROUP
        # BYs that leave one idle.
        quiet_disk()
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--first-release",
                settings.internal_db_url,
                settings.public_db_url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(result.stdout)
        ratios.append(figures["release"] / figures["bare"])
    each = " ".join(f"{r:.2f}" for r in ratios)
    print(
        f"{label:<11}2024Q1  first, a process of its own: median "
        f"{statistics.median(ratios):.2f}x of its GROUP BYs ({each})"
    )


def first_release(internal_url: str, public_url: str) -> None:
    """(The worker.) The policy's bare GROUP BYs of 2024Q1, then its first release, as JSON."""
    settings = Settings(ROOT / "bench" / "out", internal_url, public_url)
    print(json.dumps(bare_then_release(settings, QUARTERS[0])))


def bare_then_release(settings: Settings, period: str) -> dict[str, float]:
    """The seconds of the quarterly policy's bare GROUP BYs of ``period``, then of its
    release, in this process."""
    internal, public = internal_engine(settings), public_engine(settings)
    policy, quarter = load_policy("quarterly"), Quarter.parse(period)
    areas = area_codes(public)
    started = time.perf_counter()
    for spec in policy.tables:
        count_table(internal, spec, quarter, policy.unit, areas)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    build.build_release(internal, public, period, policy, actor="bench")
    return {"bare": bare, "release": time.perf_counter() - started}


def sqlite_copies(ingested: Path, copy: Path) -> Callable[[], Settings]:
    def fresh_copy() -> Settings:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ingested, copy)
        return Settings.for_directory(copy)

    return fresh_copy


def postgres_copies(urls: list[str], made: list[str]) -> Callable[[], Settings]:
    """Copies of the ingested databases at ``urls`` (CREATE DATABASE ... TEMPLATE); each
    call drops the copies it made last. Every name made is appended to ``made``."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    last: list[str] = []

    def fresh_copy() -> Settings:
        copies = []
        with admin.connect() as connection:
            for name in last:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            last.clear()
            for url in urls:
                name = f"portal_bench_{uuid.uuid4().hex[:8]}"
                template = make_url(url).database
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                made.append(name)
                last.append(name)
                copies.append(make_url(url).set(database=name).render_as_string(False))
        return Settings(ROOT / "bench" / "out", copies[0], copies[1])

    return fresh_copy


def measure(label: str, settings: Settings) -> None:
    internal, public = internal_engine(settings), public_engine(settings)
    policy = load_policy("quarterly")
    areas = area_codes(public)
    ratios = []
    for number, period in enumerate(QUARTERS):
        # Each quarter as its own `portal release build` process would see it: nothing
        # remembered in memory. The first release of the store simulates the intervals'
        # calibration and keeps it in the internal store; the second is planned first
        # (`portal release plan`, timed apart), after the stored calibration is removed;
        # the later ones read it back.
        IN_PROCESS.clear()
        quarter = Quarter.parse(period)
        planning = ""
        if number == 1:
            with internal.begin() as connection:
                connection.execute(delete(IntervalCalibration))
            started = time.perf_counter()
            plan_release(internal, public, period, policy)
            planning = f"{time.perf_counter() - started:8.3f}"
            IN_PROCESS.clear()
        started = time.perf_counter()
        for spec in policy.tables:
            count_table(internal, spec, quarter, policy.unit, areas)
        bare = time.perf_counter() - started
        started = time.perf_counter()
        built = build.build_release(internal, public, period, policy, actor="bench")
        full = time.perf_counter() - started
        run = ("first", "planned", "later", "later")[number]
        if number:
            ratios.append(full / bare)
        print(
            f"{label:<11}{period:<8}{run:<8}{bare:10.3f}{full:10.3f}{full / bare:9.2f}x"
            f"{built.cells:>9,}{planning:>8}"
        )
    print(
        f"{label:<11}releases with a calibration in the store: median "
        f"{statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x (goal at most 1.5x)"
    )
    internal.dispose()
    public.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="first releases in own processes")
    parser.add_argument("--first-release", nargs=2, metavar=("INTERNAL", "PUBLIC"), help="(worker)")
    args = parser.parse_args()
    if args.first_release:
        first_release(*args.first_release)
        return
    city_dir = city(args.stops)
    print(
        f"# release of the quarterly policy; city of {args.stops:,} stops, "
        f"{args.stops // 2:,} incidents, {args.stops // 100:,} force events"
    )
    header = (
        f"{'store':<11}{'period':<8}{'run':<8}{'GROUP BYs':>10}{'release':>10}"
        f"{'ratio':>10}{'cells':>9}{'plan':>8}"
    )
    names: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ingested = Path(tmp) / "ingested"
            ingest_city(Settings.for_directory(ingested), city_dir)
            first_in_own_process("sqlite", sqlite_copies(ingested, Path(tmp) / "copy"), args.rounds)
            postgres = None
            if postgres_answers():
                names, urls = postgres_databases(POSTGRES_URL)
                postgres = Settings(ROOT / "bench" / "out", urls[0], urls[1])
                ingest_city(postgres, city_dir)
                copies = postgres_copies(urls[:2], names)
                first_in_own_process("postgresql", copies, args.rounds)
            else:
                print(f"postgresql: skipped, nothing answers at {POSTGRES_URL}")
            print(header)
            measure("sqlite", Settings.for_directory(ingested))
            if postgres is not None:
                measure("postgresql", postgres)
    finally:
        drop_databases(POSTGRES_URL, names)


if __name__ == "__main__":
    main()
