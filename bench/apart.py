"""The intervals' simulation beside a release's count: in a thread, or in a forked child.

    .venv/bin/python bench/apart.py [--stops 1000000] [--rounds 7]

Ingests the synthetic city of ``bench/release.py`` into a fresh SQLite store, then:

* round after round, in this process, times the quarterly policy's count of one quarter
  alone, the simulation of its calibration alone, the two one after the other, and the
  two at once with the simulation in a thread (as releases did) or in a forked child
  (``privacy.release.apart``, as they do now); medians, as ratios of the count alone;
* round after round, the first release of the store as ``portal release build`` makes
  it: in a process of its own, on a fresh copy of the ingested store (nothing stored for
  the shape), the policy's bare GROUP BYs then the release, with the simulation in a
  thread or in a child, the two ways alternated; the release's time as a ratio of the
  GROUP BYs'.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from release import bare_then_release, city  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

import privacy.release.build as build  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.intervals import InProcess  # noqa: E402
from privacy.release.noise import TableMeasurement, plan_measurement  # noqa: E402
from privacy.release.periods import Quarter  # noqa: E402
from privacy.release.policy import Policy, load_policy  # noqa: E402
from privacy.release.postprocess import NoiseModel, PostProcessor  # noqa: E402
from privacy.release.shape import ReleaseShape, counted_parts, prepare, release_shape  # noqa: E402

PERIOD = "2024Q2"
WAYS = ("thread", "child")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--first-release", nargs=2, metavar=("STORE", "WAY"), help="(worker)")
    args = parser.parse_args()
    if args.first_release:
        first_release(Path(args.first_release[0]), args.first_release[1])
        return
    city_dir = city(args.stops)
    policy = load_policy("quarterly")
    print(f"# {args.stops:,} stops, quarterly policy, {PERIOD}; medians of {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        ingested = Path(tmp) / "ingested"
        settings = Settings.for_directory(ingested)
        upgrade_stores(settings)
        internal, public = internal_engine(settings), public_engine(settings)
        for kind in ("areas", "stops", "incidents", "force"):
            ingest_file(
                internal, public, kind, city_dir / f"{kind}.csv", load_mapping(f"synthetic-{kind}")
            )
        beside_the_count(internal, public, policy, args.rounds)
        internal.dispose()
        public.dispose()
        first_releases(ingested, Path(tmp) / "copy", args.rounds)


def beside_the_count(internal: Engine, public: Engine, policy: Policy, rounds: int) -> None:
    """The count and the simulation, alone and together, in this process."""
    shape = release_shape(public, Quarter.parse(PERIOD), policy)

    def count() -> None:
        counted_parts(internal, shape, policy)

    def simulation_alone() -> None:
        processor(shape, policy, apart=False).calibrate()

    def one_after_the_other() -> None:
        simulation_alone()
        count()

    def in_thread() -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            simulated = pool.submit(simulation_alone)
            count()
            simulated.result()

    def in_child() -> None:
        started = processor(shape, policy, apart=True)  # forks at once
        count()
        started.calibrate()

    ways: dict[str, Callable[[], None]] = {
        "count alone": count,
        "simulation alone": simulation_alone,
        "one after the other": one_after_the_other,
        "simulation in a thread": in_thread,
        "simulation in a child": in_child,
    }
    count()
    timings: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            way()
            timings[name].append(time.perf_counter() - started)
    alone = statistics.median(timings["count alone"])
    print("in one process                 seconds  ratio to the count alone")
    for name, times in timings.items():
        median = statistics.median(times)
        print(f"{name:<28}{median:10.3f}{median / alone:10.2f}x")


def first_releases(ingested: Path, copy: Path, rounds: int) -> None:
    """The store's first release, each in a process of its own on a fresh copy."""
    ratios: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way in WAYS:
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(ingested, copy)
            result = subprocess.run(
                [sys.executable, __file__, "--first-release", str(copy), way],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(result.stdout)
            ratios[way].append(figures["release"] / figures["bare"])
    print("first release, own process     median  per round (release / bare GROUP BYs)")
    for way, values in ratios.items():
        rounds_text = " ".join(f"{v:.2f}" for v in values)
        print(f"simulation in a {way:<15}{statistics.median(values):6.2f}x  {rounds_text}")


def first_release(store: Path, way: str) -> None:
    """(The worker.) The policy's bare GROUP BYs, then its first release, as JSON."""
    if way == "thread":  # the simulation in the release's preparing thread, as before
        build.prepare = in_the_thread  # type: ignore[attr-defined]
    print(json.dumps(bare_then_release(Settings.for_directory(store), PERIOD)))


def in_the_thread(
    shape: ReleaseShape,
    policy: Policy,
    internal: Engine,
    *,
    beside_count: bool = False,
    model: NoiseModel | None = None,
) -> tuple[list[TableMeasurement | None], PostProcessor]:
    """:func:`prepare` with its simulation run where it is called (in the release's
    preparing thread), as releases did before it ran in a child (this bench's store is
    SQLite, whose releases start no simulation before they prepare)."""
    assert model is None
    return prepare(shape, policy, internal)


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
