"""How fast the command line starts: commands that do not release against a bare import.

    .venv/bin/python bench/cli.py [--rounds 7] [--data-dir DIR]

Times, interleaved over ``--rounds`` rounds, each in a fresh process: the baseline
``python -c "import sqlalchemy, click"``, ``portal --help``, ``portal release list`` and
``portal budget``, against the stores of ``--data-dir`` (default: a fresh, migrated,
empty pair in a temporary folder; the demo's ``var`` folder gives a store with releases).
Prints the median of each and its ratio to the baseline's median. Goal: each under 3x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTAL = str(ROOT / ".venv" / "bin" / "portal")
GOAL = 3.0


def commands() -> dict[str, list[str]]:
    """What is timed, by name: the baseline first."""
    return {
        "import sqlalchemy, click": [sys.executable, "-c", "import sqlalchemy, click"],
        "portal --help": [PORTAL, "--help"],
        "portal release list": [PORTAL, "release", "list"],
        "portal budget": [PORTAL, "budget"],
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-cli-")) / "var"
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    for name in ("PORTAL_INTERNAL_DB_URL", "PORTAL_PUBLIC_DB_URL"):
        env.pop(name, None)
    if args.data_dir is None:
        subprocess.run([PORTAL, "db", "upgrade"], check=True, capture_output=True, env=env)
    timings: dict[str, list[float]] = {name: [] for name in commands()}
    for command in commands().values():  # a warm-up of each: the file cache
        timed(command, env)
    for _ in range(args.rounds):
        for name, command in commands().items():
            timings[name].append(timed(command, env))
    medians = {name: statistics.median(found) for name, found in timings.items()}
    baseline = medians["import sqlalchemy, click"]
    print(f"# {args.rounds} interleaved rounds, each command in a fresh process; data {data_dir}")
    print(f"{'command':28} {'median s':>9} {'min s':>7} {'max s':>7} {'ratio':>6}  goal")
    for name, found in timings.items():
        ratio = medians[name] / baseline
        goal = (
            ""
            if name.startswith("import")
            else (f"under {GOAL:g}x: {'met' if ratio < GOAL else 'NOT met'}")
        )
        print(
            f"{name:28} {medians[name]:9.3f} {min(found):7.3f} {max(found):7.3f} "
            f"{ratio:5.2f}x  {goal}"
        )


if __name__ == "__main__":
    main()
