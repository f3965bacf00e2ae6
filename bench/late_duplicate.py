"""A month's batch with an id repeated late in its file, into a store that holds years.

    .venv/bin/python bench/late_duplicate.py [--stops 1000000] [--rows 20000] [--rounds 5]

Ingests the synthetic city of ``bench/release.py`` (stops over two years) into fresh
stores (SQLite; PostgreSQL too when it answers), then a file of ``--rows`` new stops of one
later month whose last rows repeat an id of its first: the writer, at the first row turned
away, reads back the ids it wrote before. Times that refused ingest, and, side by side on
the same store (the month's batch ingested whole), the read-back's query as it was (the
source's rows) and as it is (the range of the key the batch's hours span).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import POSTGRES_URL, drop_databases, postgres_answers, postgres_databases  # noqa: E402
from release import city  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402

from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import IngestRefused, ingest_file, load_mapping  # noqa: E402
from privacy.store.models import InternalBase  # noqa: E402

MONTH = "2026-06"


def month_file(city_dir: Path, out: Path, rows: int, repeat: bool) -> Path:
    """``rows`` stops of the city, given new ids and times in MONTH; with ``repeat``, the
    last row repeats the first row's id."""
    with (city_dir / "stops.csv").open(newline="") as source, out.open("w", newline="") as sink:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(sink, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for n, row in zip(range(rows), reader, strict=False):
            row["source_id"] = f"M{n:08d}"
            row["occurred_at"] = f"{MONTH}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00"
            if repeat and n == rows - 1:
                row["source_id"] = "M00000000"
            writer.writerow(row)
    return out


def measure(
    label: str, settings: Settings, city_dir: Path, work: Path, rows: int, rounds: int
) -> None:
    upgrade_stores(settings)
    internal, public = internal_engine(settings), public_engine(settings)
    for kind in ("areas", "stops"):
        ingest_file(
            internal, public, kind, city_dir / f"{kind}.csv", load_mapping(f"synthetic-{kind}")
        )
    mapping = load_mapping("synthetic-stops")
    repeated = month_file(city_dir, work / "repeated.csv", rows, repeat=True)
    refused = []
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            ingest_file(internal, public, "stops", repeated, mapping)
        except IngestRefused:
            refused.append(time.perf_counter() - started)
    whole = ingest_file(
        internal, public, "stops", month_file(city_dir, work / "whole.csv", rows, False), mapping
    )
    before, now = read_backs(internal, whole.batch_id, rounds)
    print(
        f"{label:<11}{statistics.median(refused):10.3f}{statistics.median(before):12.4f}"
        f"{statistics.median(now):12.4f}{statistics.median(before) / statistics.median(now):9.1f}x"
    )
    internal.dispose()
    public.dispose()


def read_backs(internal: Engine, batch: int | None, rounds: int) -> tuple[list[float], list[float]]:
    """The read-back's query as it was and as it is, alternated."""
    records = InternalBase.metadata.tables["stops"]
    read = select(records.c.batch_line, records.c.source_id)
    source = load_mapping("synthetic-stops").source
    before = read.where(records.c.source == source, records.c.batch_id == batch)
    now = read.where(
        records.c.occurred_at >= datetime(2026, 6, 1),
        records.c.occurred_at < datetime(2026, 7, 1),
        records.c.batch_id == batch,
    )
    times: tuple[list[float], list[float]] = ([], [])
    with internal.connect() as connection:
        for _ in range(rounds):
            for query, into in ((before, times[0]), (now, times[1])):
                started = time.perf_counter()
                found = connection.execute(query).all()
                into.append(time.perf_counter() - started)
                assert found, "the month's batch should be found"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    city_dir = city(args.stops)
    print(
        f"# {args.stops:,} stops in the store; a batch of {args.rows:,} in {MONTH}; "
        f"medians of {args.rounds}"
    )
    print(f"{'store':<11}{'refused':>10}{'read back:':>12}{'by hours':>12}{'ratio':>10}")
    print(f"{'':<11}{'ingest (s)':>10}{'by source':>12}{'(now)':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        measure(
            "sqlite", Settings.for_directory(Path(tmp)), city_dir, Path(tmp), args.rows, args.rounds
        )
        if postgres_answers():
            names, urls = postgres_databases(POSTGRES_URL)
            try:
                settings = Settings(ROOT / "bench" / "out", urls[0], urls[1])
                measure("postgresql", settings, city_dir, Path(tmp), args.rows, args.rounds)
            finally:
                drop_databases(POSTGRES_URL, names)


if __name__ == "__main__":
    main()
