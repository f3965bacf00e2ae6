"""The intervals' simulation beside a release's count: in a thread, or in a forked child.

    .venv/bin/python bench/apart.py [--stops 1000000] [--rounds 7]

Ingests the synthetic city of ``bench/release.py`` into a fresh SQLite store, then, round
after round, times the quarterly policy's count of one quarter alone, the simulation of its
calibration alone, the two one after the other, and the two at once with the simulation in
a thread (as releases did) or in a forked child (``privacy.release.apart``). Medians, and
each way's time as a ratio of the count alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from release import city  # noqa: E402

from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.intervals import InProcess  # noqa: E402
from privacy.release.noise import plan_measurement  # noqa: E402
from privacy.release.periods import Quarter  # noqa: E402
from privacy.release.policy import Policy, load_policy  # noqa: E402
from privacy.release.postprocess import PostProcessor  # noqa: E402
from privacy.release.shape import ReleaseShape, counted_parts, release_shape  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    city_dir = city(args.stops)
    policy = load_policy("quarterly")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.for_directory(Path(tmp))
        upgrade_stores(settings)
        internal, public = internal_engine(settings), public_engine(settings)
        for kind in ("areas", "stops", "incidents", "force"):
            ingest_file(
                internal, public, kind, city_dir / f"{kind}.csv", load_mapping(f"synthetic-{kind}")
            )
        shape = release_shape(public, Quarter.parse("2024Q2"), policy)

        def count() -> None:
            counted_parts(internal, shape, policy)

        def simulate(apart: bool) -> Callable[[], None]:
            return lambda: processor(shape, policy, apart).calibrate()

        def one_after_the_other() -> None:
            simulate(False)()
            count()

        def in_thread() -> None:
            with ThreadPoolExecutor(max_workers=1) as pool:
                simulated = pool.submit(simulate(False))
                count()
                simulated.result()

        def in_child() -> None:
            started = processor(shape, policy, apart=True)  # forks at once
            count()
            started.calibrate()

        ways: dict[str, Callable[[], None]] = {
            "count alone": count,
            "simulation alone": simulate(False),
            "one after the other": one_after_the_other,
            "simulation in a thread": in_thread,
            "simulation in a child": in_child,
        }
        count()
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                started = time.perf_counter()
                way()
                timings[name].append(time.perf_counter() - started)
        internal.dispose()
        public.dispose()
    alone = statistics.median(timings["count alone"])
    print(f"# {args.stops:,} stops, quarterly policy, 2024Q2; medians of {args.rounds} rounds")
    for name, times in timings.items():
        median = statistics.median(times)
        print(f"{name:<24}{median:8.3f} s{median / alone:8.2f}x the count alone")


def processor(shape: ReleaseShape, policy: Policy, apart: bool) -> PostProcessor:
    """The release's post-processing with nothing remembered, so its calibration is
    simulated (started in a child with ``apart``)."""
    planned = [
        plan_measurement(p.part, policy.budget, p.sensitivity, len(p.keys))
        if p.part.measured
        else None
        for p in shape.parts
    ]
    return PostProcessor(
        shape.hierarchy, shape.parts, planned, calibrations=InProcess(), simulate_apart=apart
    )


if __name__ == "__main__":
    main()
