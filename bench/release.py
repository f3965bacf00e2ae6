"""A full release against the bare GROUP BY queries it needs, on the same store.

    .venv/bin/python bench/release.py [--stops 1000000]

Generates a synthetic city (stops, half as many incidents, 1% force events), ingests it into
fresh stores (SQLite; PostgreSQL too when it answers), then for each of four quarters times
the policy's GROUP BYs alone and the whole release (aggregation, measurements, ledger charge,
noise, post-processing, intervals, writing the release), side by side. Each quarter starts
with nothing remembered in memory, as a `portal release build` process would: the first
release of a store simulates the intervals' calibration; the second is planned first
(`portal release plan`, which simulates it again after the bench removes it, timed apart);
the last two read it back.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import POSTGRES_URL, drop_databases, postgres_answers, postgres_databases  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.aggregate import count_table  # noqa: E402
from privacy.release.build import build_release  # noqa: E402
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


def measure(label: str, settings: Settings, city_dir: Path) -> None:
    upgrade_stores(settings)
    internal, public = internal_engine(settings), public_engine(settings)
    for kind, name in (
        ("areas", "areas"),
        ("stops", "stops"),
        ("incidents", "incidents"),
        ("force", "force"),
    ):
        ingest_file(
            internal, public, kind, city_dir / f"{name}.csv", load_mapping(f"synthetic-{kind}")
        )
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
        built = build_release(internal, public, period, policy, actor="bench")
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
    args = parser.parse_args()
    city_dir = city(args.stops)
    print(
        f"# release of the quarterly policy; city of {args.stops:,} stops, "
        f"{args.stops // 2:,} incidents, {args.stops // 100:,} force events"
    )
    print(
        f"{'store':<11}{'period':<8}{'run':<8}{'GROUP BYs':>10}{'release':>10}{'ratio':>10}"
        f"{'cells':>9}{'plan':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", Settings.for_directory(Path(tmp)), city_dir)
    if postgres_answers():
        names, urls = postgres_databases(POSTGRES_URL)
        try:
            measure("postgresql", Settings(ROOT / "bench" / "out", urls[0], urls[1]), city_dir)
        finally:
            drop_databases(POSTGRES_URL, names)
    else:
        print(f"postgresql: skipped, nothing answers at {POSTGRES_URL}")


if __name__ == "__main__":
    main()
