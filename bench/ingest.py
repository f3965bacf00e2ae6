"""Ingest throughput against the database's own bulk loader, and ingest's peak memory.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--rounds 3] [--memory-rows 1000000 5000000]

For each backend (SQLite always; PostgreSQL when it answers) it loads the same synthetic
stops CSV three ways, side by side, in ``--rounds`` interleaved rounds (the machines are
noisy: medians, and each round's ratio, are printed):

* ``portal ingest`` (mapping, validation, idempotency, one batch), in a process of its own;
* the native loader into a bare table of text columns (sqlite3's ``.import``; ``COPY``);
* the native loader into a table with the records table's own constraints and keys (typed
  columns, CHECKs on every vocabulary, keyed by time and id, stored in that order on
  SQLite, the id unique), which is what ingest builds;
* the native loader into the records table itself, of a freshly migrated store (on
  PostgreSQL a copy of it, ``LIKE ... INCLUDING ALL``), from the rows ingest stored there,
  exported once as CSV: the same columns (the source, the batch and the line included),
  values, keys and checks as ingest writes, read from a file already converted. (An empty
  field is imported as an empty string by sqlite3, as NULL by COPY.)

Then it runs ingest alone on files of each ``--memory-rows`` size and prints its peak RSS.
Needs the sqlite3 and psql command-line programs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.settings import Settings  # noqa: E402
from portal.stores import upgrade_stores  # noqa: E402
from privacy.schema import CanonicalField, FieldType, fields_of  # noqa: E402
from privacy.synth import NOT_WRITTEN, generate_city  # noqa: E402

POSTGRES_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
OUT = ROOT / "bench" / "out"


def stops_file(rows: int) -> Path:
    """A synthetic stops CSV with ``rows`` rows (generated once, then reused)."""
    city = OUT / f"city-{rows}"
    if not (city / "truth.json").exists():
        print(f"generating {rows:,} synthetic stops ...", file=sys.stderr)
        generate_city(city, stops=rows, incidents=1000, force_events=100)
    return city / "stops.csv"


def written_fields() -> list[CanonicalField]:
    """The canonical stop fields the synthetic city writes, in its file's column order."""
    return [f for f in fields_of("stops") if f.name not in NOT_WRITTEN]


def constrained_ddl(table: str, sqlite: bool) -> str:
    """The canonical stop columns with the records table's constraints and keys: keyed by
    time and id (stored in that order on SQLite), the id unique."""
    columns, checks = [], []
    for field in written_fields():
        kind = {FieldType.DATETIME: "TIMESTAMP", FieldType.FLOAT: "DOUBLE PRECISION"}.get(
            field.type, "VARCHAR(128)"
        )
        null = " NOT NULL" if field.type not in (FieldType.FLOAT, FieldType.KEY) else ""
        columns.append(f"{field.name} {kind}{null}")
        if field.type is FieldType.CATEGORY:
            codes = " OR ".join(f"{field.name} = '{c}'" for c in field.stored_codes)
            checks.append(f"CHECK ({codes})")
    keys = "PRIMARY KEY (occurred_at, source_id), UNIQUE (source_id)"
    layout = " WITHOUT ROWID" if sqlite else ""
    return f"CREATE TABLE {table} ({', '.join(columns + checks)}, {keys}){layout}"


def bare_ddl(table: str) -> str:
    return f"CREATE TABLE {table} ({', '.join(f.name + ' TEXT' for f in written_fields())})"


def run_ingest(settings: Settings, path: Path) -> dict[str, float]:
    upgrade_stores(settings)
    quiet_disk()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "_ingest_worker.py"),
            settings.internal_db_url,
            settings.public_db_url,
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def timed(command: list[str], stdin_path: Path | None = None) -> float:
    quiet_disk()
    started = time.perf_counter()
    if stdin_path is None:
        subprocess.run(command, check=True, capture_output=True)
    else:
        with stdin_path.open("rb") as handle:
            subprocess.run(command, check=True, stdin=handle, capture_output=True)
    return time.perf_counter() - started


def quiet_disk() -> None:
    """Write out what earlier steps left in the page cache before something is timed: the
    kernel would otherwise write it back during the timed run and charge it to whatever
    follows the heaviest writer (bench/RESULTS.md, session 30)."""
    os.sync()


def sqlite_native(path: Path, work: Path, constrained: bool) -> float:
    db = work / f"native-{uuid.uuid4().hex[:6]}.sqlite3"
    ddl = constrained_ddl("stops_native", True) if constrained else bare_ddl("stops_native")
    subprocess.run(["sqlite3", str(db), ddl + ";"], check=True, capture_output=True)
    return sqlite_import(db, path, "stops_native")


def sqlite_import(database: Path, path: Path, table: str) -> float:
    """The time of sqlite3's ``.import`` of the CSV at ``path`` into ``table``, in WAL."""
    return timed(
        [
            "sqlite3",
            str(database),
            "PRAGMA journal_mode=WAL;",
            f".import --csv --skip 1 {path} {table}",
        ]
    )


def stored_rows_csv(internal_url: str, rows: int) -> Path:
    """The records ingest stored in ``internal_url``, exported once (per backend, each
    writes times its own way) as CSV in the table's column order."""
    parsed = make_url(internal_url)
    out = OUT / f"stored-stops-{rows}-{parsed.get_backend_name()}.csv"
    if out.exists():
        return out
    partial = out.with_suffix(".partial")
    if parsed.get_backend_name() == "sqlite":
        with partial.open("wb") as handle:
            subprocess.run(
                ["sqlite3", "-csv", "-header", str(parsed.database), "SELECT * FROM stops"],
                check=True,
                stdout=handle,
            )
    else:
        libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            [
                "psql",
                libpq,
                "-q",
                "-c",
                f"\\copy stops TO '{partial}' WITH (FORMAT csv, HEADER true)",
            ],
            check=True,
            capture_output=True,
        )
    partial.rename(out)
    return out


def sqlite_records_table(stored: Path, work: Path) -> float:
    """sqlite3's ``.import`` of the stored rows into the records table of a fresh store."""
    settings = Settings.for_directory(work / f"records-{uuid.uuid4().hex[:6]}")
    upgrade_stores(settings)
    database = make_url(settings.internal_db_url).database
    assert database is not None
    return sqlite_import(Path(database), stored, "stops")


def postgres_records_table(stored: Path, url: str) -> float:
    """COPY of the stored rows into a copy of the records table (its columns, defaults,
    checks and indexes), in the database ingest wrote to."""
    ddl = "CREATE TABLE stops_records_copy (LIKE stops INCLUDING ALL)"
    return postgres_copy(url, stored, "stops_records_copy", ddl)


def postgres_copy(url: str, path: Path, table: str, ddl: str) -> float:
    """The time of psql's COPY of the CSV at ``path`` into ``table``, made afresh by ``ddl``."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        ["psql", libpq, "-q", "-c", f"DROP TABLE IF EXISTS {table}", "-c", ddl],
        check=True,
        capture_output=True,
    )
    return timed(
        ["psql", libpq, "-q", "-c", f"\\copy {table} FROM STDIN WITH (FORMAT csv, HEADER true)"],
        path,
    )


def postgres_databases(admin_url: str) -> tuple[list[str], list[str]]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"portal_bench_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = make_url(admin_url)
    return names, [base.set(database=n).render_as_string(hide_password=False) for n in names]


def drop_databases(admin_url: str, names: list[str]) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def postgres_native(path: Path, url: str, constrained: bool) -> float:
    ddl = constrained_ddl("stops_native", False) if constrained else bare_ddl("stops_native")
    return postgres_copy(url, path, "stops_native", ddl)


def postgres_answers() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the three loaders, interleaved (medians are printed)",
    )
    args = parser.parse_args()
    path = stops_file(args.rows)
    rows = args.rows
    print(
        f"# ingest of {rows:,} synthetic stops ({path.stat().st_size / 1e6:.0f} MB CSV), "
        f"medians of {args.rounds} interleaved rounds"
    )
    print(
        f"{'backend':<11}{'loader':<50}{'seconds':>9}{'rows/s':>12}{'ingest/loader':>15}"
        f"{'  per round':<}"
    )

    def report(backend: str, rounds: list[tuple[float, ...]]) -> None:
        names = (
            "portal ingest",
            "bare text table",
            "same constraints",
            "the records table, stored rows",
        )
        loader = "sqlite3 .import" if backend == "sqlite" else "COPY"
        for at, name in enumerate(names):
            seconds = statistics.median(r[at] for r in rounds)
            label = name if at == 0 else f"{loader}, {name}"
            ratios = [r[at] / r[0] for r in rounds]
            ratio = f"{statistics.median(ratios):.2f}x" if at else ""
            each = "  " + " ".join(f"{x:.2f}" for x in ratios) if at else ""
            print(f"{backend:<11}{label:<50}{seconds:9.2f}{rows / seconds:12,.0f}{ratio:>15}{each}")

    sqlite_rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            settings = Settings.for_directory(work / "ingest")
            ours = run_ingest(settings, path)
            assert ours["rows_added"] == rows
            stored = stored_rows_csv(settings.internal_db_url, rows)
            bare = sqlite_native(path, work, False)
            same = sqlite_native(path, work, True)
            records = sqlite_records_table(stored, work)
        sqlite_rounds.append((ours["seconds"], bare, same, records))
    report("sqlite", sqlite_rounds)
    if postgres_answers():
        postgres_rounds = []
        for _ in range(args.rounds):
            names, urls = postgres_databases(POSTGRES_URL)
            try:
                settings = Settings(data_dir=OUT, internal_db_url=urls[0], public_db_url=urls[1])
                ours = run_ingest(settings, path)
                assert ours["rows_added"] == rows
                stored = stored_rows_csv(urls[0], rows)
                bare = postgres_native(path, urls[2], False)
                same = postgres_native(path, urls[2], True)
                records = postgres_records_table(stored, urls[0])
            finally:
                drop_databases(POSTGRES_URL, names)
            postgres_rounds.append((ours["seconds"], bare, same, records))
        report("postgresql", postgres_rounds)
    else:
        print(f"postgresql: skipped, nothing answers at {POSTGRES_URL}")

    print("\n# peak memory of portal ingest (SQLite), one process per file")
    print(f"{'rows':>12}{'seconds':>9}{'rows/s':>12}{'peak RSS MB':>13}{'worker MB':>11}")
    for size in args.memory_rows:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run_ingest(Settings.for_directory(Path(tmp)), stops_file(size))
        print(
            f"{size:>12,}{figures['seconds']:9.1f}{size / figures['seconds']:12,.0f}"
            f"{figures['peak_rss_mb']:13.0f}{figures['worker_peak_rss_mb']:11.0f}"
        )
    if shutil.which("sqlite3") is None:
        print("note: sqlite3 CLI missing", file=sys.stderr)


if __name__ == "__main__":
    main()
