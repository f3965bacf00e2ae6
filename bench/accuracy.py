"""Accuracy of the default policy's releases: raw noise against what is published.

    .venv/bin/python bench/accuracy.py [--releases 1000] [--stops 300000] [--period 2024Q3]
                                       [--cities 200]

Generates the synthetic city (the demo's size by default), ingests it into a fresh SQLite
store, counts one quarter's true tables once, then draws ``--releases`` independent
releases of the quarterly policy with OpenDP's own noise and post-processes each exactly
as ``portal release build`` does (no ledger: these releases are never published).

Per measured table (its own cells, and each of its levels) it prints:

* the RMSE of the raw noisy values and the noise's sigma;
* the RMSE of the published values;
* for a level: the RMSE of adding up the raw noisy cells of the level below, and the ratio
  of the published RMSE to it (goal: at most 0.8);
* for a table's own cells: published RMSE over raw RMSE (goal: at most 1.05);
* the 95% intervals' coverage of the truth, over all cells and over cells whose true
  count is at least 10 (goal: 0.93 to 0.97);
* how many published values were negative and how many groups failed to add up to their
  parent (goal: none).

Then the focus-area evaluation over ``--cities`` simulated cities (the synthetic city's
geography and true effects; fresh counts and fresh noise for each, see
``privacy/synth/simulate.py``): per focus area and outcome, the mean estimate against the
truth, the mean absolute error, and how often the 95% interval (privacy noise and count
variation) covers the true effect (goal: at least 90%), beside the noise-only interval's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.aggregate import count_table  # noqa: E402
from privacy.release.noise import plan_measurement  # noqa: E402
from privacy.release.parts import PartCounts, measured_parts  # noqa: E402
from privacy.release.periods import Quarter  # noqa: E402
from privacy.release.policy import load_policy  # noqa: E402
from privacy.release.postprocess import PostProcessor, release_hierarchy  # noqa: E402
from privacy.synth import generate_city  # noqa: E402
from publishing.areas import area_codes, beat_districts  # noqa: E402


def true_parts(stops: int, period: str) -> list[PartCounts]:
    """The quarterly policy's true counts for ``period`` of a synthetic city."""
    city = ROOT / "bench" / "out" / f"accuracy-city-{stops}"
    if not (city / "truth.json").exists():
        print(f"generating {stops:,} synthetic stops ...", file=sys.stderr)
        generate_city(city, stops=stops, incidents=stops // 2, force_events=stops // 100)
    policy = load_policy("quarterly")
    quarter = Quarter.parse(period)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.for_directory(Path(tmp))
        upgrade_stores(settings)
        internal, public = internal_engine(settings), public_engine(settings)
        for kind in ("areas", "stops", "incidents", "force"):
            ingest_file(
                internal, public, kind, city / f"{kind}.csv", load_mapping(f"synthetic-{kind}")
            )
        areas, districts = area_codes(public), beat_districts(public)
        parts = [
            part
            for spec in policy.tables
            for part in measured_parts(
                count_table(internal, spec, quarter, policy.unit, areas),
                quarter,
                policy.unit,
                areas,
                districts,
            )
        ]
        internal.dispose()
        public.dispose()
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--stops", type=int, default=300_000)
    parser.add_argument("--period", default="2024Q3")
    parser.add_argument(
        "--cities",
        type=int,
        default=200,
        help="simulated cities for the focus-area check (0 skips it)",
    )
    args = parser.parse_args()
    policy = load_policy("quarterly")
    parts = true_parts(args.stops, args.period)
    planned = [
        plan_measurement(p.part, policy.budget, p.sensitivity, len(p.keys))
        if p.part.measured
        else None
        for p in parts
    ]
    started = time.perf_counter()
    processor = PostProcessor(release_hierarchy(parts), parts, planned)
    setup = time.perf_counter() - started
    hierarchy = processor.estimator.hierarchy
    truth = [np.asarray(p.counts, dtype=np.float64) for p in parts]
    n = len(parts)
    raw_sq, pub_sq, child_sq = np.zeros(n), np.zeros(n), np.zeros(n)
    covered, covered_away = np.zeros(n), np.zeros(n)
    negatives = broken = 0
    started = time.perf_counter()
    for _ in range(args.releases):
        raw = [
            p.apply(c.counts) if p is not None else [0] * len(c.keys)
            for c, p in zip(parts, planned, strict=True)
        ]
        result = processor.publish(raw)
        negatives += int((result.published < 0).sum())
        for i, (part, cells) in enumerate(zip(parts, hierarchy.cells, strict=True)):
            published = result.published[cells]
            raw_sq[i] += np.sum((np.asarray(raw[i]) - truth[i]) ** 2)
            pub_sq[i] += np.sum((published - truth[i]) ** 2)
            inside = (result.low[cells] <= truth[i]) & (truth[i] <= result.high[cells])
            covered[i] += inside.sum()
            covered_away[i] += inside[truth[i] >= 10].sum()
            if part.up is not None and planned[i] is not None:
                parent = i + 1  # a table's levels follow it in order
                summed = np.bincount(
                    part.up_cells,
                    weights=np.asarray(raw[i], dtype=float),
                    minlength=len(parts[parent].keys),
                )
                child_sq[parent] += np.sum((summed - truth[parent]) ** 2)
                added = np.bincount(
                    part.up_cells, weights=published, minlength=len(parts[parent].keys)
                )
                broken += int(np.sum(added != result.published[hierarchy.cells[parent]]))
    elapsed = time.perf_counter() - started

    print(
        f"# {args.releases:,} releases of the quarterly policy (rho = {policy.budget.rho} "
        f"per quarter), {args.period} of a synthetic city of {args.stops:,} stops"
    )
    print(
        f"# post-processing set-up (interval simulation) {setup:.2f} s; "
        f"{elapsed / args.releases * 1000:.1f} ms per release (noise and post-processing)"
    )
    print(
        f"{'table':<40}{'cells':>6}{'sigma':>7}{'raw':>8}{'publ':>8}{'vs raw':>7}"
        f"{'summed':>8}{'vs sum':>7}{'cover':>7}{'>=10':>7}"
    )
    for i, part in enumerate(parts):
        plan = planned[i]
        if plan is None:
            continue  # added up to, not measured or published
        cells = len(part.keys)
        draws = args.releases * cells
        raw_rmse = np.sqrt(raw_sq[i] / draws)
        pub_rmse = np.sqrt(pub_sq[i] / draws)
        away = int(np.sum(truth[i] >= 10)) * args.releases
        line = (
            f"{part.part.name:<40}{cells:>6}{plan.charge.noise_scale:>7.2f}"
            f"{raw_rmse:>8.2f}{pub_rmse:>8.2f}{pub_rmse / raw_rmse:>7.2f}"
        )
        if part.part.depth and child_sq[i]:
            summed = np.sqrt(child_sq[i] / draws)
            line += f"{summed:>8.2f}{pub_rmse / summed:>7.2f}"
        else:
            line += f"{'':>8}{'':>7}"
        line += f"{covered[i] / draws:>7.3f}"
        line += f"{covered_away[i] / away:>7.3f}" if away else f"{'':>7}"
        print(line)
    print(f"negative published values: {negatives}; groups that do not add up: {broken}")
    if args.cities:
        focus_accuracy(args.cities)


def focus_accuracy(cities: int) -> None:
    """The focus-area estimates of many simulated cities against the known truth."""
    from privacy.synth.simulate import CitySimulator
    from publishing.analysis.focus import evaluate

    simulator = CitySimulator()
    rng = np.random.default_rng(2026)
    found: dict[tuple[str, str], list[tuple[float, float, bool, bool, float]]] = {}
    started = time.perf_counter()
    for _ in range(cities):
        city = simulator.city(rng)
        for code, area in city.catalog.focus_areas.items():
            evaluation = evaluate(city.catalog, area)
            if evaluation is None:
                continue
            for r in evaluation.results:
                if r.outcome not in city.true_effects[code]:
                    continue
                truth = 100 * (city.true_effects[code][r.outcome] - 1)
                found.setdefault((code, r.outcome), []).append(
                    (
                        r.percent,
                        truth,
                        r.interval[0] <= truth <= r.interval[1],
                        r.noise_interval[0] <= truth <= r.noise_interval[1],
                        r.interval[1] - r.interval[0],
                    )
                )
    elapsed = time.perf_counter() - started
    print(
        f"\n# focus-area evaluation over {cities} simulated cities ({elapsed:.0f} s): "
        "difference in differences, 12 months before and after each start"
    )
    print(
        f"{'area':<6}{'outcome':<9}{'truth %':>9}{'mean est':>10}{'mean |err|':>12}"
        f"{'cover':>8}{'noise-only':>12}{'width':>8}"
    )
    for (code, outcome), rows in sorted(found.items()):
        estimates = np.array([r[0] for r in rows])
        truth = rows[0][1]
        print(
            f"{code:<6}{outcome:<9}{truth:>9.1f}{estimates.mean():>10.2f}"
            f"{np.abs(estimates - truth).mean():>12.2f}"
            f"{np.mean([r[2] for r in rows]):>8.3f}{np.mean([r[3] for r in rows]):>12.3f}"
            f"{np.mean([r[4] for r in rows]):>8.1f}"
        )


if __name__ == "__main__":
    main()
