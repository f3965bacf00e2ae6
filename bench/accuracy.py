"""Accuracy of the default policy's releases on two departments: what is published against
the truth.

    .venv/bin/python bench/accuracy.py [--releases 1000] [--stops 300000] [--period 2024Q3]
                                       [--sparse-stops 400000] [--sparse-period 2023Q2]
                                       [--departments city,sparse] [--cities 200]

Two departments: the synthetic city (dense: every source, every code) and the sparse
department of ``privacy/synth/sparse.py`` (72 precincts, skewed groups, three of six
outcome codes, rare searches, stops only, a partial first quarter). Each is generated,
ingested into a fresh SQLite store with its department profile, and one quarter's true
tables are counted once. Then ``--releases`` independent releases of the quarterly policy
are drawn with OpenDP's own noise and post-processed exactly as ``portal release build``
does (same shape, same profile, same post-processing; no ledger: never published).

Per released table and level it prints:

* sigma, the RMSE of the raw noisy values, of the unbiased estimates (``est``) and of the
  published integers (``publ``), and publ / raw (goal for a table's own cells: at most
  1.05);
* for a level: the RMSE of adding up the raw noisy cells of the level below, and publ over
  it (goal: at most 0.8);
* ``bias``: the largest mean error of a cell's estimate over the releases, in that cell's
  standard errors, and ``lean``: how many cells' mean error exceeds the goal, max(0.1
  standard error, 0.5 of a count) (by chance alone about 0.2% of cells at 1,000 releases);
  ``int``: the largest mean error of a published integer, in counts (rounding to
  non-negative integers is for display; figures are computed from the estimates);
* the 95% intervals' coverage, over all cells and over cells whose true count is at least
  10 (goal: 0.93 to 0.97).

Then the figures people read, computed by the site's own functions
(``publishing.figures``): per group, city-wide stops summed over districts, the search
rate and the hit rate: truth, mean, bias in standard errors, RMSE, coverage of the 95%
interval (goal 0.93 to 0.97), and for rates the share of releases within 3 points of the
truth (goal: 0.95 for a group with at least 500 searches); the city-wide outcome counts;
and the count of cells where a nested table exceeds the table it is part of (searches above
stops, hits above searches, stops with no action above stops: goal 0).

For the city it then compares, at equal rho, the force and incident tables' RMSE under
parallel composition (each source's tables share the whole budget, as the record unit
allows) with sequential composition (all sources share it).

Last, the focus-area evaluation over ``--cities`` simulated cities (the synthetic city's
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.settings import Settings  # noqa: E402
from portal.stores import internal_engine, public_engine, upgrade_stores  # noqa: E402
from privacy.ingest import ingest_file, load_mapping  # noqa: E402
from privacy.release.noise import TableMeasurement, plan_measurement  # noqa: E402
from privacy.release.parts import PartCounts  # noqa: E402
from privacy.release.periods import Quarter  # noqa: E402
from privacy.release.policy import Policy, load_policy  # noqa: E402
from privacy.release.postprocess import PostProcessor  # noqa: E402
from privacy.release.shape import ReleaseShape, counted_parts, prepare, release_shape  # noqa: E402
from privacy.synth import generate_city  # noqa: E402
from privacy.synth.sparse import (  # noqa: E402
    generate_sparse_department,
    ingest_sparse_department,
)
from publishing.estimates import Estimate  # noqa: E402
from publishing.figures import category_totals, rates  # noqa: E402
from publishing.releases import PublishedTable  # noqa: E402

Floats = NDArray[np.float64]
FIGURE_TABLES = frozenset(
    {
        "stops_by_race",
        "searches_by_race",
        "search_hits_by_race",
        "stops_by_district_race",
        "stops_by_outcome",
    }
)


@dataclass
class Department:
    """One department's quarter: its true parts and the release's post-processing."""

    name: str
    period: str
    shape: ReleaseShape
    parts: list[PartCounts]
    planned: list[TableMeasurement | None]
    processor: PostProcessor

    @property
    def truth(self) -> list[Floats]:
        return [np.asarray(p.counts, dtype=np.float64) for p in self.parts]


@contextmanager
def department(name: str, stops: int, period: str, policy: Policy) -> Iterator[Department]:
    """Generate and ingest a department, count ``period``'s true tables, and prepare its
    release as ``portal release build`` does."""
    quarter = Quarter.parse(period)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.for_directory(Path(tmp))
        upgrade_stores(settings)
        internal, public = internal_engine(settings), public_engine(settings)
        print(f"generating and ingesting the {name} ({stops:,} stops) ...", file=sys.stderr)
        if name == "sparse department":
            manifest = generate_sparse_department(Path(tmp) / "sparse", stops=stops)
            ingest_sparse_department(internal, public, manifest)
        else:
            city = ROOT / "bench" / "out" / f"accuracy-city-{stops}"
            if not (city / "truth.json").exists():
                generate_city(city, stops=stops, incidents=stops // 2, force_events=stops // 100)
            for kind in ("areas", "stops", "incidents", "force"):
                path = city / f"{kind}.csv"
                ingest_file(internal, public, kind, path, load_mapping(f"synthetic-{kind}"))
        shape = release_shape(public, quarter, policy)
        parts = counted_parts(internal, shape, policy)
        planned, processor = prepare(shape, policy, internal)
        try:
            yield Department(name, period, shape, parts, planned, processor)
        finally:
            internal.dispose()
            public.dispose()


def draw(dept: Department, planned: list[TableMeasurement | None] | None = None) -> list[list[int]]:
    """One release's signed noisy counts (zeros for parts that are not measured)."""
    return [
        p.apply(c.counts) if p is not None else [0] * len(c.keys)
        for c, p in zip(dept.parts, planned or dept.planned, strict=True)
    ]


@dataclass
class Moments:
    """Running sums of errors, per cell, over releases."""

    n: int = 0
    error: Floats = field(default_factory=lambda: np.zeros(0))
    squared: Floats = field(default_factory=lambda: np.zeros(0))
    covered: Floats = field(default_factory=lambda: np.zeros(0))

    def add(
        self,
        value: Floats,
        truth: Floats,
        low: NDArray[Any] | None = None,
        high: NDArray[Any] | None = None,
    ) -> None:
        if self.n == 0:
            self.error, self.squared, self.covered = (np.zeros(len(truth)) for _ in range(3))
        self.n += 1
        self.error += value - truth
        self.squared += (value - truth) ** 2
        if low is not None and high is not None:
            self.covered += (low <= truth) & (truth <= high)

    @property
    def bias(self) -> Floats:
        return self.error / max(self.n, 1)

    @property
    def sd(self) -> Floats:
        return np.sqrt(np.maximum(self.squared / max(self.n, 1) - self.bias**2, 1e-300))

    @property
    def rmse(self) -> float:
        return float(np.sqrt(self.squared.sum() / max(self.n * len(self.squared), 1)))


@dataclass
class Figure:
    """One derived figure's estimates over the releases."""

    truth: float
    values: list[float] = field(default_factory=list)
    std_errors: list[float] = field(default_factory=list)
    covered: int = 0

    def add(self, estimate: Estimate) -> None:
        self.values.append(estimate.unbiased)
        self.std_errors.append(estimate.std_error)
        self.covered += estimate.low <= self.truth <= estimate.high


def true_totals(
    dept: Department, table: str, dimension: str, where: dict[str, str] | None = None
) -> dict[str, float]:
    """The true total per code of ``dimension`` of one of the release's tables."""
    index = next(i for i, p in enumerate(dept.parts) if p.part.name == table)
    part, counts = dept.parts[index], dept.truth[index]
    at = part.part.dimensions.index(dimension)
    totals: dict[str, float] = {}
    for key, count in zip(part.keys, counts, strict=True):
        if where and any(key[part.part.dimensions.index(d)] != v for d, v in where.items()):
            continue
        totals[key[at]] = totals.get(key[at], 0.0) + float(count)
    return totals


def figures_of(tables: dict[str, PublishedTable]) -> dict[str, list[tuple[str, Estimate]]]:
    """The figures residents read, by the site's own functions."""
    stops = category_totals(tables["stops_by_race"], "subject_race")
    searches = category_totals(tables["searches_by_race"], "subject_race")
    hits = category_totals(tables["search_hits_by_race"], "subject_race")
    return {
        "stops, sum over districts": category_totals(
            tables["stops_by_district_race"], "subject_race"
        ),
        "stops (city table)": stops,
        "search rate per 100 stops": rates(searches, stops),
        "hit rate per 100 searches": rates(hits, searches),
        "stops by outcome": category_totals(tables["stops_by_outcome"], "outcome"),
    }


def true_figures(dept: Department) -> dict[str, dict[str, float]]:
    stops = true_totals(dept, "stops_by_race", "subject_race")
    searches = true_totals(dept, "searches_by_race", "subject_race")
    hits = true_totals(dept, "search_hits_by_race", "subject_race")
    return {
        "stops, sum over districts": true_totals(dept, "stops_by_district_race", "subject_race"),
        "stops (city table)": stops,
        "search rate per 100 stops": {
            g: 100 * searches[g] / n for g, n in stops.items() if n and g in searches
        },
        "hit rate per 100 searches": {
            g: 100 * hits[g] / n for g, n in searches.items() if n and g in hits
        },
        "stops by outcome": true_totals(dept, "stops_by_outcome", "outcome"),
    }


def run_department(dept: Department, policy: Policy, releases: int) -> None:
    """Draw ``releases`` releases of the department's quarter and print their accuracy."""
    hierarchy = dept.processor.estimator.hierarchy
    truth = dept.truth
    n = len(dept.parts)
    raw_sq, child_sq = np.zeros(n), np.zeros(n)
    estimates = [Moments() for _ in range(n)]
    integers = [Moments() for _ in range(n)]
    caps = dept.processor.nesting[0]
    nested = np.flatnonzero(caps >= 0)
    violations = negatives = 0
    figure_names = FIGURE_TABLES & {p.part.name for p in dept.parts}
    figures: dict[str, dict[str, Figure]] = {}
    truths = true_figures(dept) if figure_names == FIGURE_TABLES else {}
    started = time.perf_counter()
    for _ in range(releases):
        raw = draw(dept)
        result = dept.processor.publish(raw)
        negatives += int((result.published < 0).sum())
        violations += int(np.sum(result.published[nested] > result.published[caps[nested]]))
        for i, (part, cells) in enumerate(zip(dept.parts, hierarchy.cells, strict=True)):
            estimates[i].add(
                result.estimate[cells], truth[i], result.low[cells], result.high[cells]
            )
            integers[i].add(result.published[cells].astype(np.float64), truth[i])
            raw_sq[i] += np.sum((np.asarray(raw[i]) - truth[i]) ** 2)
            if part.up_cells is not None and dept.planned[i] is not None:
                summed = np.bincount(
                    part.up_cells,
                    weights=np.asarray(raw[i], dtype=float),
                    minlength=len(dept.parts[i + 1].keys),
                )
                child_sq[i + 1] += np.sum((summed - truth[i + 1]) ** 2)
        if truths:
            tables = {t.name: t for t in dept.processor.contents(result, raw, figure_names)}
            for name, found in figures_of(tables).items():
                for group, estimate in found:
                    if group in truths[name]:
                        figures.setdefault(name, {}).setdefault(
                            group, Figure(truths[name][group])
                        ).add(estimate)
    elapsed = time.perf_counter() - started

    print(
        f"\n## {dept.name}, {dept.period}: {releases:,} releases of the quarterly policy "
        f"(rho = {policy.budget.rho} per quarter), {elapsed / releases * 1000:.1f} ms each"
    )
    coverage = dept.shape.coverage
    print(
        "# released tables: "
        + ", ".join(sorted({p.part.table.name for p in dept.parts}))
        + f"\n# withheld: {', '.join(f'{t} ({why})' for t, why in dept.shape.withheld) or 'none'}"
        + f"\n# coverage: {', '.join(f'{s} {a}..{b}' for s, (a, b) in coverage.items())}"
        + (" (partial quarter)" if dept.shape.partial else "")
    )
    print(
        f"{'table':<44}{'cells':>6}{'sigma':>7}{'raw':>8}{'est':>8}{'publ':>8}{'vs raw':>7}"
        f"{'summed':>8}{'vs sum':>7}{'bias':>6}{'lean':>6}{'int':>6}{'cover':>7}{'>=10':>7}"
    )
    for i, part in enumerate(dept.parts):
        plan = dept.planned[i]
        if plan is None:
            continue  # added up to, not measured or published
        size = len(part.keys)
        draws = releases * size
        raw_rmse = np.sqrt(raw_sq[i] / draws)
        est, pub = estimates[i], integers[i]
        se = est.sd
        lean = int(np.sum(np.abs(est.bias) > np.maximum(0.1 * se, 0.5)))
        away = truth[i] >= 10
        line = (
            f"{part.part.name:<44}{size:>6}{plan.charge.noise_scale:>7.2f}{raw_rmse:>8.2f}"
            f"{est.rmse:>8.2f}{pub.rmse:>8.2f}{pub.rmse / raw_rmse:>7.2f}"
        )
        if part.part.depth and child_sq[i]:
            summed = np.sqrt(child_sq[i] / draws)
            line += f"{summed:>8.2f}{pub.rmse / summed:>7.2f}"
        else:
            line += f"{'':>8}{'':>7}"
        line += (
            f"{np.max(np.abs(est.bias) / se):>6.2f}{lean:>6}{np.max(np.abs(pub.bias)):>6.2f}"
            f"{est.covered.sum() / draws:>7.3f}"
        )
        line += f"{est.covered[away].sum() / (releases * away.sum()):>7.3f}" if away.any() else ""
        print(line)
    print(
        f"negative published values: {negatives}; cells where a nested table exceeds the "
        f"table it is part of: {violations} (over {len(nested):,} nested cells x {releases:,})"
    )
    if figures:
        print(
            f"\n{'figure':<28}{'group':<24}{'truth':>9}{'mean':>9}{'bias/se':>8}{'rmse':>8}"
            f"{'cover':>7}{'<=3pt':>7}"
        )
        for name, groups in figures.items():
            for group, figure in groups.items():
                values = np.asarray(figure.values)
                errors = values - figure.truth
                sd = float(np.std(errors)) or 1e-300
                within = f"{np.mean(np.abs(errors) <= 3):>7.3f}" if "rate" in name else f"{'':>7}"
                print(
                    f"{name:<28}{group:<24}{figure.truth:>9.1f}{values.mean():>9.1f}"
                    f"{errors.mean() / sd:>8.3f}{np.sqrt(np.mean(errors**2)):>8.2f}"
                    f"{figure.covered / len(values):>7.3f}{within}"
                )


def composition_effect(dept: Department, policy: Policy, releases: int) -> None:
    """The force and incident tables' RMSE at equal rho: parallel composition per source
    (what the record unit allows) against every source sharing the budget."""
    sources = sorted({p.part.source for p in dept.parts})
    shared = replace(policy.budget, rho=policy.budget.rho / len(sources))
    sequential = [
        plan_measurement(p.part, shared, p.sensitivity, len(p.keys)) if p.part.measured else None
        for p in dept.parts
    ]
    processor = PostProcessor(dept.processor.estimator.hierarchy, dept.parts, sequential)
    hierarchy = processor.estimator.hierarchy
    wanted = [i for i, p in enumerate(dept.parts) if p.part.source != "stops" and dept.planned[i]]
    parallel_sq, sequential_sq = np.zeros(len(dept.parts)), np.zeros(len(dept.parts))
    for _ in range(releases):
        for planned, proc, sums in (
            (dept.planned, dept.processor, parallel_sq),
            (sequential, processor, sequential_sq),
        ):
            result = proc.publish(draw(dept, planned))
            for i in wanted:
                sums[i] += np.sum((result.estimate[hierarchy.cells[i]] - dept.truth[i]) ** 2)
    print(
        f"\n# {dept.name}: force and incident tables at equal rho = {policy.budget.rho}, "
        f"{releases:,} releases: parallel composition per source (the record unit) against "
        f"sequential ({len(sources)} sources sharing it)"
    )
    print(f"{'table':<44}{'parallel':>10}{'sequential':>12}{'ratio':>8}")
    for i in wanted:
        draws = releases * len(dept.parts[i].keys)
        par, seq = np.sqrt(parallel_sq[i] / draws), np.sqrt(sequential_sq[i] / draws)
        print(f"{dept.parts[i].part.name:<44}{par:>10.2f}{seq:>12.2f}{par / seq:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--stops", type=int, default=300_000)
    parser.add_argument("--period", default="2024Q3")
    parser.add_argument("--sparse-stops", type=int, default=400_000)
    parser.add_argument("--sparse-period", default="2023Q2")
    parser.add_argument("--departments", default="city,sparse")
    parser.add_argument(
        "--composition-releases",
        type=int,
        default=200,
        help="releases for the parallel-composition comparison (0 skips it)",
    )
    parser.add_argument(
        "--cities",
        type=int,
        default=200,
        help="simulated cities for the focus-area check (0 skips it)",
    )
    args = parser.parse_args()
    policy = load_policy("quarterly")
    chosen = args.departments.split(",")
    if "sparse" in chosen:
        with department("sparse department", args.sparse_stops, args.sparse_period, policy) as d:
            run_department(d, policy, args.releases)
    if "city" in chosen:
        with department("synthetic city", args.stops, args.period, policy) as d:
            run_department(d, policy, args.releases)
            if args.composition_releases:
                composition_effect(d, policy, args.composition_releases)
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
