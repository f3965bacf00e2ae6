"""The peer benchmark's job, run by the project and by the limit side by side in one run.

    .venv/bin/python bench/peers.py [--rows 1000000] [--rounds 3]

The job of ``../shared/peers`` (its README): one record-level count by month x district x
reason over the public key set of 20 districts x 12 months x 10 reasons (2,400 keys, 24 of
them truly empty), rho = 0.5 zCDP. The data are made here as its ``gen.py`` makes them
(the same seed and draws), with a leading row number as the id the project needs.

* **the limit**: one SQLite ``GROUP BY`` over the rows, zero-filled to the 2,400 keys, and
  ONE OpenDP vector Gaussian measurement: about the least work any engine can do;
* **the project**: the peers' own inputs (``bench/peers/``: areas, the mapping that reads
  the rows as incidents, a one-table policy), fresh stores, the areas and the rows ingested
  (load), then the four quarterly releases at rho = 0.5 each, which together are rho = 0.5
  by parallel composition (query), through the functions the command line calls.

Rounds are interleaved (limit, project, limit, ...); the figures are medians. Printed: load
and query seconds, cells released, truly empty cells released, and the mean absolute error
and mean signed error of the released values against the exact counts; then the project's
query against the limit's. Goal (issue 16): at most 1.2x.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INPUTS = ROOT / "bench" / "peers"
SEED = 20251130  # gen.py's
DISTRICTS = [f"D{i:02d}" for i in range(1, 21)]
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
REASONS = [f"R{i:02d}" for i in range(1, 11)]
REASON_P = [0.30, 0.20, 0.15, 0.10, 0.08, 0.06, 0.05, 0.03, 0.02, 0.01]
RHO = 0.5
QUARTERS = ("2025Q1", "2025Q2", "2025Q3", "2025Q4")
TABLE = "count_by_month_district_reason"
Key = tuple[str, str, str]  # (district, month, reason)


@dataclass(frozen=True)
class Run:
    """One engine's run: its seconds and what it released, by peer key."""

    load: float
    query: float
    released: dict[Key, float]


def generate(rows: int, out: Path) -> dict[Key, int]:
    """gen.py's table (CSV with a row number, and SQLite table ``stops``) in ``out``; the
    exact count of every key, zeros included."""
    rng = np.random.default_rng(SEED)
    weights = np.linspace(1.5, 0.5, 20)
    weights /= weights.sum()
    district = rng.choice(20, rows, p=weights)
    month = rng.integers(0, 12, rows)
    reason = rng.choice(10, rows, p=REASON_P)
    reason[(district >= 18) & (reason == 9)] = 0  # R10 never occurs in D19 and D20
    table = list(
        zip(
            np.array(DISTRICTS)[district].tolist(),
            np.array(MONTHS)[month].tolist(),
            np.array(REASONS)[reason].tolist(),
            strict=True,
        )
    )
    with (out / "stops.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "district", "month", "reason"])
        writer.writerows((n, *record) for n, record in enumerate(table, start=1))
    connection = sqlite3.connect(out / "stops.sqlite")
    connection.execute("CREATE TABLE stops (district TEXT, month TEXT, reason TEXT)")
    connection.executemany("INSERT INTO stops VALUES (?, ?, ?)", table)
    connection.commit()
    connection.close()
    truth = {key: 0 for key in peer_keys()}
    for record in table:
        truth[record] += 1
    return truth


def peer_keys() -> list[Key]:
    """The public key set, in gen.py's order."""
    return [(d, m, r) for d in DISTRICTS for m in MONTHS for r in REASONS]


def run_limit(data: Path) -> Run:
    """One SQLite GROUP BY and one OpenDP vector Gaussian measurement."""
    from opendp.domains import atom_domain, vector_domain
    from opendp.measurements import make_gaussian
    from opendp.metrics import l2_distance
    from opendp.mod import enable_features

    enable_features("contrib")
    started = time.perf_counter()
    connection = sqlite3.connect(f"file:{data / 'stops.sqlite'}?mode=ro", uri=True)
    exact = {
        (d, m, r): n
        for d, m, r, n in connection.execute(
            "SELECT district, month, reason, COUNT(*) FROM stops GROUP BY district, month, reason"
        )
    }
    connection.close()
    keys = peer_keys()
    measurement = make_gaussian(
        vector_domain(atom_domain(T=int)), l2_distance(T=int), scale=1 / math.sqrt(2 * RHO)
    )
    assert measurement.map(1) <= RHO + 1e-12
    noisy = measurement([exact.get(k, 0) for k in keys])
    return Run(0.0, time.perf_counter() - started, dict(zip(keys, noisy, strict=True)))


def run_project(data: Path, work: Path) -> Run:
    """Load (stores, areas, rows) and query (four quarterly releases, cells read back)."""
    import json

    from portal.settings import Settings
    from portal.stores import internal_engine, public_engine, upgrade_stores
    from privacy.ingest import ingest_file, load_mapping
    from privacy.release.build import build_release
    from privacy.release.policy import load_policy

    shutil.rmtree(work, ignore_errors=True)
    settings = Settings.for_directory(work)
    started = time.perf_counter()
    upgrade_stores(settings)
    internal, public = internal_engine(settings), public_engine(settings)
    ingest_file(
        internal, public, "areas", INPUTS / "areas.csv", load_mapping(INPUTS / "areas.toml")
    )
    report = ingest_file(
        internal, public, "incidents", data / "stops.csv", load_mapping(INPUTS / "incidents.toml")
    )
    assert report.committed and report.rows_added == report.rows_read, report.summary()
    load = time.perf_counter() - started
    started = time.perf_counter()
    policy = load_policy(INPUTS / "policy.toml")
    for quarter in QUARTERS:
        build_release(internal, public, quarter, policy, actor="bench")
    internal.dispose()
    public.dispose()
    connection = sqlite3.connect(f"file:{work / 'public.sqlite3'}?mode=ro", uri=True)
    cells = connection.execute(
        "SELECT key, published FROM release_cells WHERE table_name = ?", (TABLE,)
    ).fetchall()
    connection.close()
    query = time.perf_counter() - started
    reason_of = {code: reason for reason, code in _codes().items()}
    released: dict[Key, float] = {}
    for key, value in cells:
        month, district, code = json.loads(key)
        peer = (district, month, reason_of.get(code, code))
        if district != "unknown":  # the project's key set adds a district "unknown"
            released[peer] = value
    return Run(load, query, released)


def _codes() -> dict[str, str]:
    import tomllib

    with (INPUTS / "incidents.toml").open("rb") as handle:
        values: dict[str, str] = tomllib.load(handle)["fields"]["offense_category"]["values"]
    return values


def scored(run: Run, truth: dict[Key, int]) -> tuple[int, int, float, float]:
    """Cells released, truly empty cells released, mean absolute and mean signed error."""
    errors = [value - truth[key] for key, value in run.released.items()]
    empty = sum(1 for key in run.released if truth[key] == 0)
    return (
        len(run.released),
        empty,
        sum(map(abs, errors)) / len(errors),
        sum(errors) / len(errors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    data = scratch / "data"
    data.mkdir()
    print(f"generating {args.rows:,} rows ...", file=sys.stderr)
    truth = generate(args.rows, data)
    engines: dict[str, Callable[[], Run]] = {
        "limit": lambda: run_limit(data),
        "project": lambda: run_project(data, scratch / "stores"),
    }
    runs: dict[str, list[Run]] = {name: [] for name in engines}
    for round_number in range(args.rounds):
        for name, engine in engines.items():
            print(f"round {round_number + 1}: {name} ...", file=sys.stderr)
            runs[name].append(engine())
    empty_keys = sum(1 for count in truth.values() if count == 0)
    print(
        f"# the peer job: {args.rows:,} rows, {len(truth):,} public keys ({empty_keys} truly "
        f"empty), rho = {RHO}; {args.rounds} interleaved rounds, medians"
    )
    print(
        f"{'engine':8} {'load s':>7} {'query s':>8} {'cells':>6} {'empty':>6} "
        f"{'MAE':>6} {'bias':>7}"
    )
    query = {}
    for name, found in runs.items():
        query[name] = statistics.median(r.query for r in found)
        load = statistics.median(r.load for r in found)
        cells, empty, _mae, _bias = scored(found[-1], truth)
        mae = statistics.median(scored(r, truth)[2] for r in found)
        bias = statistics.median(scored(r, truth)[3] for r in found)
        print(
            f"{name:8} {load:7.2f} {query[name]:8.2f} {cells:6,} {empty:6} {mae:6.3f} {bias:+7.3f}"
        )
    ratio = query["project"] / query["limit"]
    print(
        f"the project's query (four releases) against the limit's: {ratio:.2f}x; goal at most "
        f"1.2x: {'met' if ratio <= 1.2 else 'NOT met'}"
    )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
