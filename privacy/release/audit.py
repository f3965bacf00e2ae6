"""An empirical privacy audit: a statistical lower bound on the epsilon a table really spends.

Differential privacy promises that for any two neighbouring data sets D and D' (one privacy
unit apart) and any set S of outputs, P[M(D') in S] <= e^epsilon P[M(D) in S] + delta, and
the same with D and D' swapped. An audit turns that promise into a test the engine can fail:

1. **Neighbours in a real store.** D is a few dozen synthetic records written to a scratch
   internal store; D' is D plus one record (record unit) or plus one person who has more
   records than the policy's bounds allow (more than ``c + excess`` in each of
   ``g + excess`` cells, the busiest rolling up into the same cell of every level, the
   direction in which the levels see the most of what the bounds keep). Both are counted
   as a release counts them (:func:`count_one`: a record table summed from its scan, a
   person table bounded in SQL), so that counting is part of what is audited, and split
   into the table's measured levels with :func:`measured_parts`.
2. **The engine's own noise.** Each measured part's OpenDP measurement is built by
   :func:`plan_measurement` at the policy's weight; its charge is the claim. ``N`` outputs
   are drawn per side with :meth:`TableMeasurement.apply` (OpenDP's noise cannot be
   seeded, so every run is a fresh experiment).
3. **A distinguishing test.** Each output is reduced to the log-likelihood ratio of D'
   against D under the noise the charge claims, summed over the cells whose true counts
   differ (for the Gaussian a weighted sum of those noisy counts; by Neyman and Pearson the
   most powerful statistic if the mechanism is what it claims). A threshold test rejects D
   when the statistic is at least ``t`` (or, in the other direction, rejects D' when it is
   at most ``t``). The threshold of each direction is chosen on the first half of the
   draws and evaluated on the second half only, so choosing it does not bias the bound.
4. **A lower bound.** With one-sided Clopper-Pearson bounds on the held-out rates,
   ``epsilon_lb = ln((TPR_low - delta) / FPR_high)`` (0 when not positive), the larger of
   the two directions. The four Clopper-Pearson bounds each hold with probability at least
   ``1 - alpha / 4``, so with probability at least ``1 - alpha`` the bound is below the
   epsilon the mechanism really has: if ``epsilon_lb`` exceeds the claim, the claim is
   false at that confidence.

The claim is the table's own charge composed over its measured levels (epsilon at the
policy's delta for zCDP, the sum of epsilons for pure DP); the whole release's is reported
for context. A Gaussian audit at delta = 1e-7 cannot come close to the claim with any
feasible number of draws (the claim is set by events of probability near delta); a pure-DP
audit of a record-unit table can, because its worst-case set has ordinary probability.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta
from sqlalchemy import Engine, delete, func, insert, select

from privacy import vocabulary as v
from privacy.release.accounting import release_privacy
from privacy.release.aggregate import Key, TableCounts, key_set
from privacy.release.noise import TableMeasurement, plan_measurement
from privacy.release.parts import PartCounts, measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import AREA_DIMENSIONS, Policy, TableSpec
from privacy.release.scans import count_one
from privacy.schema import FieldType, fields_of
from privacy.store.models import RECORD_TABLES, InternalBase

AUDIT_SOURCE = "privacy-audit"  # the ``source`` of every record the audit writes
MAX_CANDIDATES = 2000  # thresholds tried on the selection half
BASE_RECORDS = 40  # records of D: other people sharing the neighbour's cells
CountFn = Callable[..., TableCounts]  # count_one's signature
PlanFn = Callable[..., TableMeasurement]  # plan_measurement's signature
Floats = NDArray[np.float64]


class AuditError(RuntimeError):
    """The audit cannot run as asked; the message says what to change."""


@dataclass(frozen=True)
class Neighbours:
    """One policy table's measured parts, counted on D and on its neighbour D'."""

    parts: tuple[PartCounts, ...]  # on D: keys, sensitivity and the part's spec
    base: tuple[tuple[int, ...], ...]  # counts on D, one tuple per part
    neighbour: tuple[tuple[int, ...], ...]  # counts on D'


@dataclass(frozen=True)
class Bound:
    """One direction's threshold test, evaluated on held-out draws."""

    direction: str  # "D' high" (the statistic is large under D') or "D high"
    threshold: float
    tpr_low: float  # lower Clopper-Pearson bound of P[S] under the side S points to
    fpr_high: float  # upper bound of P[S] under the other side
    epsilon: float  # ln((tpr_low - delta) / fpr_high), or 0 when not positive


@dataclass(frozen=True)
class AuditResult:
    """What an audit of one table found, beside what the engine claims."""

    table: str
    unit: str
    mechanism: str
    trials: int  # outputs drawn per side
    confidence: float
    delta: float
    claimed_epsilon: float  # the table's charge, composed over its levels
    release_epsilon: float  # the whole policy's release, for context
    directions: tuple[Bound, Bound]

    @property
    def epsilon_lb(self) -> float:
        """The empirical lower bound: the better of the two directions."""
        return max(b.epsilon for b in self.directions)

    @property
    def ratio(self) -> float:
        """The lower bound as a share of the table's claim."""
        return self.epsilon_lb / self.claimed_epsilon


def audit_table(
    engine: Engine,
    policy: Policy,
    table: str,
    quarter: Quarter,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
    trials: int,
    *,
    confidence: float = 0.95,
    count: CountFn = count_one,
    plan: PlanFn = plan_measurement,
    excess: int = 8,
    seed: int = 0,
) -> AuditResult:
    """Audit ``table`` of ``policy``: ``trials`` outputs per side, bound at ``confidence``.
    ``engine`` must be an empty, migrated internal store; ``count`` and ``plan`` default to
    the engine's own (a test swaps in broken ones to show the audit catches them)."""
    if trials < 2:
        raise AuditError(f"the audit needs at least 2 outputs per side, not {trials}")
    neighbours = neighbouring_counts(
        engine, policy, table, quarter, areas, beat_district, count=count, excess=excess, seed=seed
    )
    measurements = [
        plan(p.part, policy.budget, p.sensitivity, len(p.keys)) for p in neighbours.parts
    ]
    charges = [m.charge for m in measurements]
    delta = max(c.delta_shown for c in charges)
    mechanism = policy.budget.mechanism
    claimed = release_privacy(
        mechanism, delta, [c.rho for c in charges], [c.epsilon_shown for c in charges]
    )[1]  # one table's parts count the same records: they add up
    on_base, on_neighbour = draw_statistics(neighbours, measurements, mechanism, trials)
    return AuditResult(
        table=table,
        unit=policy.unit.describe(),
        mechanism=mechanism,
        trials=trials,
        confidence=confidence,
        delta=delta,
        claimed_epsilon=claimed,
        release_epsilon=_release_epsilon(policy, quarter, areas, beat_district),
        directions=epsilon_lower_bound(on_base, on_neighbour, delta, confidence),
    )


def neighbouring_counts(
    engine: Engine,
    policy: Policy,
    table: str,
    quarter: Quarter,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
    *,
    count: CountFn = count_one,
    excess: int = 8,
    seed: int = 0,
) -> Neighbours:
    """Write D to the (empty) store and count it, add the neighbouring unit and count D',
    then remove every record the audit wrote. A person neighbour has at least ``excess``
    records and cells more than the bounds keep: the further over them, the plainer a
    missing or loose bound shows."""
    spec, unit = policy.table(table), policy.unit
    records = InternalBase.metadata.tables[RECORD_TABLES[spec.source]]
    with engine.connect() as connection:
        held = connection.execute(select(func.count()).select_from(records)).scalar_one()
    if held:
        raise AuditError(
            f"the internal store holds {held} {spec.source} records; the audit writes "
            "synthetic records and must run on an empty, migrated scratch store (make one "
            "with `portal db upgrade` and a fresh PORTAL_DATA_DIR)"
        )
    cells = _cells(spec, quarter, policy, areas, beat_district)
    rnd = random.Random(seed)
    base = [
        _record(spec, quarter, rnd.choice(cells), beat_district, n, rnd.choice([*"ABCDEF", None]))
        for n in range(BASE_RECORDS)
    ]
    if unit.kind == "record":
        extra = [_record(spec, quarter, cells[0], beat_district, BASE_RECORDS, None)]
    else:
        # More records in earlier cells, so that the g cells the bounding keeps (a
        # person's busiest) are the first ones, which roll up together.
        chosen = cells[: unit.max_cells + excess]
        placed = [
            cell
            for i, cell in enumerate(chosen)
            for _ in range(unit.max_records_per_cell + excess + len(chosen) - i)
        ]
        extra = [
            _record(spec, quarter, cell, beat_district, BASE_RECORDS + n, "neighbour")
            for n, cell in enumerate(placed)
        ]
    try:
        before = _parts(engine, count, spec, quarter, policy, areas, beat_district, base)
        after = _parts(engine, count, spec, quarter, policy, areas, beat_district, extra)
    finally:
        with engine.begin() as connection:
            connection.execute(delete(records).where(records.c.source == AUDIT_SOURCE))
    kept = [i for i, p in enumerate(before) if p.part.measured]
    return Neighbours(
        parts=tuple(before[i] for i in kept),
        base=tuple(before[i].counts for i in kept),
        neighbour=tuple(after[i].counts for i in kept),
    )


def draw_statistics(
    neighbours: Neighbours,
    measurements: Sequence[TableMeasurement],
    mechanism: str,
    trials: int,
) -> tuple[Floats, Floats]:
    """Draw ``trials`` outputs on each side and reduce each to its log-likelihood ratio of
    D' against D under the claimed noise (only cells whose true counts differ count)."""
    differ = [
        np.flatnonzero(np.asarray(a) != np.asarray(b))
        for a, b in zip(neighbours.base, neighbours.neighbour, strict=True)
    ]
    if not any(len(d) for d in differ):
        raise AuditError("D and D' have the same counts: the neighbour was not counted")
    sides = []
    for counts in (neighbours.base, neighbours.neighbour):
        statistic = np.zeros(trials)
        for m, own, x, x2, cells in zip(
            measurements, counts, neighbours.base, neighbours.neighbour, differ, strict=True
        ):
            if not len(cells):
                continue  # a part whose counts agree on D and D' cannot tell them apart
            y = np.asarray([m.apply(own) for _ in range(trials)], dtype=np.float64)[:, cells]
            lo, hi, scale = np.asarray(x)[cells], np.asarray(x2)[cells], m.charge.noise_scale
            if mechanism == "gaussian":
                terms = ((y - lo) ** 2 - (y - hi) ** 2) / (2 * scale**2)
            else:
                terms = (np.abs(y - lo) - np.abs(y - hi)) / scale
            statistic += terms.sum(axis=1)
        sides.append(statistic)
    return sides[0], sides[1]


def epsilon_lower_bound(
    on_base: Floats, on_neighbour: Floats, delta: float, confidence: float
) -> tuple[Bound, Bound]:
    """Both directions' bounds: thresholds chosen on the first half of each side's draws,
    rates bounded on the second half at ``confidence`` (split four ways, Bonferroni)."""
    if not 0 < confidence < 1:
        raise AuditError(f"confidence must lie between 0 and 1, not {confidence!r}")
    alpha = (1 - confidence) / 4
    half = min(len(on_base), len(on_neighbour)) // 2
    if half < 1:
        raise AuditError("the audit needs at least two draws per side")
    bounds = []
    for direction, positive, negative in (
        ("D' high", on_neighbour, on_base),
        ("D high", -on_base, -on_neighbour),
    ):
        threshold = _best_threshold(positive[:half], negative[:half], alpha, delta)
        k_pos = int(np.sum(positive[half:] >= threshold))
        k_neg = int(np.sum(negative[half:] >= threshold))
        tpr_low = float(clopper_pearson(np.asarray([k_pos]), len(positive) - half, alpha)[0][0])
        fpr_high = float(clopper_pearson(np.asarray([k_neg]), len(negative) - half, alpha)[1][0])
        shown = threshold if direction == "D' high" else -threshold
        bounds.append(
            Bound(direction, shown, tpr_low, fpr_high, _epsilon(tpr_low, fpr_high, delta))
        )
    return bounds[0], bounds[1]


def clopper_pearson(
    successes: NDArray[np.int64], trials: int, alpha: float
) -> tuple[Floats, Floats]:
    """One-sided Clopper-Pearson bounds: each holds with probability at least 1 - alpha."""
    k = successes.astype(np.float64)
    low = np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), trials - k + 1), 0.0)
    high = np.where(k < trials, beta.ppf(1 - alpha, k + 1, np.maximum(trials - k, 1)), 1.0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def _best_threshold(positive: Floats, negative: Floats, alpha: float, delta: float) -> float:
    """The threshold whose bound is best on these (selection) draws."""
    candidates = np.unique(np.concatenate([positive, negative]))
    if len(candidates) > MAX_CANDIDATES:  # evenly spaced in rank, both extremes kept
        picks = np.linspace(0, len(candidates) - 1, MAX_CANDIDATES).round().astype(np.int64)
        candidates = candidates[np.unique(picks)]
    pos, neg = np.sort(positive), np.sort(negative)
    k_pos = len(pos) - np.searchsorted(pos, candidates, side="left")
    k_neg = len(neg) - np.searchsorted(neg, candidates, side="left")
    low = clopper_pearson(k_pos, len(pos), alpha)[0]
    high = clopper_pearson(k_neg, len(neg), alpha)[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(low > delta, np.log((low - delta) / high), -np.inf)
    return float(candidates[int(np.argmax(score))])


def _epsilon(tpr_low: float, fpr_high: float, delta: float) -> float:
    if tpr_low <= delta:
        return 0.0
    return max(0.0, math.log((tpr_low - delta) / fpr_high))


def _parts(
    engine: Engine,
    count: CountFn,
    spec: TableSpec,
    quarter: Quarter,
    policy: Policy,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
    rows: list[dict[str, Any]],
) -> list[PartCounts]:
    """Add ``rows`` to the store, then count the table and its levels as a release does."""
    table = InternalBase.metadata.tables[RECORD_TABLES[spec.source]]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    counted = count(engine, spec, quarter, policy.unit, areas)
    return measured_parts(counted, quarter, policy.unit, areas, beat_district)


def _cells(
    spec: TableSpec,
    quarter: Quarter,
    policy: Policy,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
) -> list[Key]:
    """The table's cells a record can be placed in (declared areas only), those that roll
    up into one cell at every level first: a person spread over them is seen whole by every
    level, the direction in which the levels tell D' from D best."""
    keys = tuple(key_set(spec, quarter, areas))
    parts = measured_parts(
        TableCounts(spec, keys, (0,) * len(keys)), quarter, policy.unit, areas, beat_district
    )
    places = [spec.dimensions.index(d) for d in AREA_DIMENSIONS if d in spec.dimensions]
    paths: dict[tuple[int, ...], list[Key]] = {}
    for i, key in enumerate(keys):
        if any(key[p] == v.UNKNOWN for p in places):
            continue
        path, at = [], i
        for part in parts:
            if part.up_cells is not None:
                at = part.up_cells[at]
                path.append(at)
        paths.setdefault(tuple(path), []).append(key)
    if not paths:
        raise AuditError(f"table {spec.name} has no cell in a declared area to audit")
    groups = sorted(paths.values(), key=len, reverse=True)  # stable: key order within
    return [key for group in groups for key in group]


def _record(
    spec: TableSpec,
    quarter: Quarter,
    cell: Key,
    beat_district: dict[str, str],
    n: int,
    person: str | None,
) -> dict[str, Any]:
    """A synthetic record of ``spec``'s source that the table counts in ``cell``."""
    values = dict(zip(spec.dimensions, cell, strict=True))
    filters = dict(spec.where)
    day = quarter.start + timedelta(days=14, minutes=n)
    if "month" in values:
        year, month = values["month"].split("-")
        day = datetime(int(year), int(month), 15) + timedelta(minutes=n)
    beat = values.get("beat") or next(
        (b for b, d in beat_district.items() if d == values.get("district")), v.UNKNOWN
    )
    row: dict[str, Any] = {"source": AUDIT_SOURCE, "source_id": f"audit-{n}", "batch_id": 0}
    for field in fields_of(spec.source):
        if field.type is FieldType.CATEGORY:
            default = v.UNKNOWN if v.UNKNOWN in field.vocabulary else field.vocabulary[0]
            code = values.get(field.name) or filters.get(field.name, (default,))[0]
            row[field.name] = code
        elif field.type is FieldType.AREA:
            row[field.name] = beat if field.name == "beat" else beat_district.get(beat, v.UNKNOWN)
        elif field.type is FieldType.KEY:
            row[field.name] = person if field.name == "person_key" else None
        elif field.type is FieldType.FLOAT:
            row[field.name] = None
    row["occurred_at"] = day
    if "district" in values:
        row["district"] = values["district"]
    return row


def _release_epsilon(
    policy: Policy,
    quarter: Quarter,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
) -> float:
    """The whole release's epsilon as the engine would state it: every measured part of
    every table, planned and composed."""
    charges = []
    for spec in policy.tables:
        keys = tuple(key_set(spec, quarter, areas))
        zero = TableCounts(spec, keys, (0,) * len(keys))
        for p in measured_parts(zero, quarter, policy.unit, areas, beat_district):
            if p.part.measured:
                charges.append(
                    plan_measurement(p.part, policy.budget, p.sensitivity, len(p.keys)).charge
                )
    delta = max(c.delta_shown for c in charges)
    sources = [c.source for c in charges] if policy.unit.kind == "record" else None
    return release_privacy(
        policy.budget.mechanism,
        delta,
        [c.rho for c in charges],
        [c.epsilon_shown for c in charges],
        sources,
    )[1]
