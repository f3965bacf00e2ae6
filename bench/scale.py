"""Ingest and release on PostgreSQL as the records grow: time and peak memory.

    .venv/bin/python bench/scale.py [--rows 1000000 10000000 50000000]

For each size, a synthetic city of that many stops (generated once into
``bench/out/city-N``, kept), fresh PostgreSQL stores (at ``PORTAL_TEST_POSTGRES_URL``),
its areas, then ``portal ingest``'s work on the stops in a process of its own (its time and
the peak RSS of it and of its conversion worker), then the quarterly policy's releases of
four quarters in another process (each release's time and the process's peak RSS). The
stores are dropped after each size. Growth is read against the size before: the time per
million records, and the peak memory, should stay flat (goal: within 1.2x of linear from
10 million). This process only directs: generating a city and declaring its areas run in
processes of their own too, since a child's peak RSS on Linux starts from its parent's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402
    POSTGRES_URL,
    drop_databases,
    postgres_answers,
    postgres_databases,
)

QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")


def worker(script: str, *args: str) -> dict[str, Any]:
    """Run one of the bench's workers in a process of its own; its JSON line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def in_a_process(program: str) -> str:
    """Run ``program`` (Python, with the bench's imports at hand) in a process of its own;
    its last line of output."""
    prelude = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'bench')!r}]\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + program],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return done.stdout.strip().splitlines()[-1]


def declare_areas(internal_url: str, public_url: str, areas: Path) -> None:
    """Migrate the stores and ingest the city's areas, in a process of its own."""
    in_a_process(
        "from pathlib import Path\n"
        "from portal.settings import Settings\n"
        "from portal.stores import internal_engine, public_engine, upgrade_stores\n"
        "from privacy.ingest import ingest_file, load_mapping\n"
        f"settings = Settings(data_dir=Path('.'), internal_db_url={internal_url!r}, "
        f"public_db_url={public_url!r})\n"
        "upgrade_stores(settings)\n"
        "report = ingest_file(internal_engine(settings), public_engine(settings), 'areas', "
        f"Path({str(areas)!r}), load_mapping('synthetic-areas'))\n"
        "print(report.rows_added)\n"
    )


def measure(rows: int) -> dict[str, float]:
    """Ingest and release ``rows`` stops on fresh PostgreSQL stores."""
    path = Path(in_a_process(f"from ingest import stops_file; print(stops_file({rows}))"))
    names, urls = postgres_databases(POSTGRES_URL)
    try:
        declare_areas(urls[0], urls[1], path.parent / "areas.csv")
        ingested = worker("_ingest_worker.py", urls[0], urls[1], str(path))
        released = worker("_release_worker.py", urls[0], urls[1], *QUARTERS)
    finally:
        drop_databases(POSTGRES_URL, names)
    seconds = [float(s) for s in released["seconds"]]
    return {
        "ingest_s": float(ingested["seconds"]),
        "ingest_mb": max(
            float(ingested["peak_rss_mb"]),
            float(ingested["worker_peak_rss_mb"]),
        ),
        "release_s": sorted(seconds)[len(seconds) // 2],
        "release_mb": float(released["peak_rss_mb"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    args = parser.parse_args()
    if not postgres_answers():
        sys.exit(f"PostgreSQL does not answer at {POSTGRES_URL}")
    print(
        "# PostgreSQL; stops of a synthetic city over 3 years; the quarterly policy's release "
        f"of {len(QUARTERS)} quarters (median per release)"
    )
    print(
        f"{'stops':>12} {'ingest s':>9} {'s per M':>8} {'ingest MB':>10} "
        f"{'release s':>10} {'release MB':>11}  growth against the size before"
    )
    before: tuple[int, dict[str, float]] | None = None
    for rows in args.rows:
        found = measure(rows)
        per_million = found["ingest_s"] / (rows / 1e6)
        growth = ""
        if before is not None:
            size, was = before
            scale = rows / size
            growth = (
                f"ingest {found['ingest_s'] / (was['ingest_s'] * scale):.2f}x of linear, "
                f"release {found['release_s'] / (was['release_s'] * scale):.2f}x of linear, "
                f"memory {found['ingest_mb'] / was['ingest_mb']:.2f}x and "
                f"{found['release_mb'] / was['release_mb']:.2f}x"
            )
        print(
            f"{rows:>12,} {found['ingest_s']:9.1f} {per_million:8.2f} {found['ingest_mb']:10.0f} "
            f"{found['release_s']:10.2f} {found['release_mb']:11.0f}  {growth}",
            flush=True,
        )
        before = (rows, found)


if __name__ == "__main__":
    main()
