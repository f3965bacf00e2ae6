"""One full quarterly report against the same report without charts, in one run.

    .venv/bin/python bench/report.py [--period 2025Q3] [--rounds 3] [--stops 300000]

Builds (once) the demo's data without reports in bench/out/report-data, then in this
process times, interleaved over ``--rounds`` rounds: the full report (the site's charts
rendered to SVG through kaleido and Chromium, one browser per report, then WeasyPrint's
tagged PDF) and the same report without charts (tables only). Also times the SVG rendering
alone. Imports (WeasyPrint, kaleido) are done before timing and reported separately, as is
a cold first report. Goal: the full report under 10 s on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PORTAL = ROOT / ".venv" / "bin" / "portal"


def data_dir(stops: int) -> Path:
    """The demo's data, built once."""
    directory = ROOT / "bench" / "out" / "report-data"
    if not (directory / "public.sqlite3").exists():
        print(f"building the demo's data ({stops:,} stops) in {directory} ...", file=sys.stderr)
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(PORTAL), "demo", "--stops", str(stops), "--no-serve", "--no-reports"],
            check=True,
            cwd=ROOT,
            stdout=sys.stderr,
            env={**os.environ, "PORTAL_DATA_DIR": str(directory)},
        )
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2025Q3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stops", type=int, default=300_000)
    args = parser.parse_args()
    directory = data_dir(args.stops)

    started = time.perf_counter()
    import weasyprint  # noqa: F401  (timed: the import is part of a cold report)

    from publishing.catalog import load_catalog
    from publishing.db import make_engine
    from publishing.reports import REPORT_QUARTERS, build_report, report_sections
    from publishing.svg import render_svgs

    imports = time.perf_counter() - started

    engine = make_engine(f"sqlite:///{directory / 'public.sqlite3'}", read_only=True)
    started = time.perf_counter()
    catalog = load_catalog(engine)
    catalog.read_current()
    loading = time.perf_counter() - started
    charts = [
        c.figure
        for s in report_sections(catalog.up_to(args.period, REPORT_QUARTERS), args.period)
        for c in s.charts
    ]

    started = time.perf_counter()
    cold = build_report(catalog, args.period, render_svgs=render_svgs)
    cold_time = time.perf_counter() - started
    full, bare, svgs = [], [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        build_report(catalog, args.period, render_svgs=render_svgs)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        build_report(catalog, args.period, render_svgs=None)
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_svgs(charts)
        svgs.append(time.perf_counter() - started)
    engine.dispose()

    def line(label: str, times: list[float]) -> str:
        return f"{label:<34}{statistics.median(times):>8.2f}{min(times):>8.2f}{max(times):>8.2f}"

    print(
        f"# quarterly report of {args.period}, demo city of {args.stops:,} stops; "
        f"{cold.charts} charts, {len(cold.pdf) / 1024:,.0f} KB; {args.rounds} rounds, "
        "interleaved"
    )
    print(
        f"# imports (WeasyPrint, kaleido, plotly) {imports:.2f} s; reading 12 releases "
        f"{loading:.2f} s; first (cold) full report {cold_time:.2f} s"
    )
    print(f"{'':<34}{'median':>8}{'min':>8}{'max':>8}  seconds")
    print(line(f"full report ({cold.charts} charts)", full))
    print(line("same report without charts", bare))
    print(line(f"SVG rendering alone ({len(charts)} charts)", svgs))
    verdict = "met" if statistics.median(full) < 10 else "MISSED"
    print(
        f"charts cost {statistics.median(full) / statistics.median(bare):.2f}x the report "
        f"without them; goal: full report under 10 s: {verdict}"
    )


if __name__ == "__main__":
    main()
