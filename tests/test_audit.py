"""The empirical privacy audit: its bound never exceeds the claim of a sound engine, and it
does exceed the claim of a broken one.

The audits below draw OpenDP noise (which cannot be seeded), so they assert only what holds
with near certainty: at 99.9% confidence a sound engine's bound is below its claim, and a
broken engine's true epsilon is so far above its claim that the bound clears it by a wide
margin. The statistics alone are checked on seeded numpy draws against known answers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import opendp.prelude as dp
import pytest
from scipy.optimize import brentq
from scipy.stats import norm
from sqlalchemy import Engine, func, insert, select

from portal.settings import Settings
from portal.stores import internal_engine, upgrade_stores
from privacy.release.aggregate import TableCounts, count_table
from privacy.release.audit import (
    AuditError,
    AuditResult,
    audit_table,
    clopper_pearson,
    epsilon_lower_bound,
    neighbouring_counts,
)
from privacy.release.noise import TableMeasurement, plan_measurement
from privacy.release.periods import Quarter
from privacy.release.policy import Policy, PrivacyUnit, parse_policy
from privacy.store.models import Stop

Q3 = Quarter.parse("2024Q3")
AREAS = {"district": ("d1", "d2", "d3", "d4"), "beat": ("d1b1", "d2b1", "d3b1", "d4b1")}
BEAT_DISTRICT = {b: b[:2] for b in AREAS["beat"]}
TRIALS = 800  # per side: about 1.2 s of OpenDP draws for a table of two parts
CONFIDENCE = 0.999
RECORD = 'kind = "record"'
PERSON = 'kind = "person"\nmax_records_per_cell = 2\nmax_cells = 2'
# One table takes the whole budget, so its epsilon is one the audit can resolve.
GAUSSIAN = "rho = 0.1"
LAPLACE = 'mechanism = "laplace"\nepsilon = 2.0'


def _policy(unit: str, budget: str) -> Policy:
    if "person" in unit:  # a person unit caps its horizon too; the audit is of one quarter
        cap = "horizon_rho = 10" if "rho" in budget else "horizon_epsilon = 20"
        budget += f'\nhorizon = "portal"\n{cap}'
    return parse_policy(f"""
name = "audit"
[unit]
{unit}
[budget]
{budget}
[[tables]]
name = "stops_by_district"
source = "stops"
dimensions = ["quarter", "district"]
weight = 1
[[tables.levels]]
dimensions = ["quarter"]
weight = 0.5
""")


@pytest.fixture
def sqlite_internal(sqlite_settings: Settings) -> Iterator[Engine]:
    """An empty, migrated internal store on SQLite."""
    upgrade_stores(sqlite_settings)
    engine = internal_engine(sqlite_settings)
    yield engine
    engine.dispose()


def _audit(internal: Engine, policy: Policy, **broken: Any) -> AuditResult:
    return audit_table(
        internal,
        policy,
        "stops_by_district",
        Q3,
        AREAS,
        BEAT_DISTRICT,
        TRIALS,
        confidence=CONFIDENCE,
        **broken,
    )


def _quiet(part: Any, budget: Any, sensitivity: Any, size: int) -> TableMeasurement:
    """A broken engine: the claimed charge, but a tenth of the noise."""
    planned = plan_measurement(part, budget, sensitivity, size)
    domain = dp.vector_domain(dp.atom_domain(T=int), size=size)
    scale = planned.charge.noise_scale / 10
    measurement = (
        dp.m.make_gaussian(
            domain, dp.l2_distance(T=float), scale=scale, MO=dp.ZeroConcentratedDivergence
        )
        if budget.mechanism == "gaussian"
        else dp.m.make_laplace(domain, dp.l1_distance(T=float), scale=scale)
    )
    return dataclasses.replace(planned, measurement=measurement)


def _unbounded(engine: Engine, spec: Any, quarter: Quarter, unit: Any, areas: Any) -> TableCounts:
    """A broken engine: a person-unit policy counted without contribution bounding."""
    return count_table(engine, spec, quarter, PrivacyUnit("record"), areas)


@pytest.mark.parametrize(
    ("unit", "budget"), [(RECORD, GAUSSIAN), (PERSON, GAUSSIAN), (RECORD, LAPLACE)]
)
def test_a_sound_engine_is_never_caught(
    engines: tuple[Engine, Engine], unit: str, budget: str
) -> None:
    internal, _ = engines
    policy = _policy(unit, budget)

    result = _audit(internal, policy)

    assert result.epsilon_lb <= result.claimed_epsilon
    assert result.release_epsilon == pytest.approx(result.claimed_epsilon)  # one table
    assert result.trials == TRIALS
    if policy.budget.mechanism == "laplace":
        # Pure DP is audited almost tightly: the audit has power.
        assert result.epsilon_lb > 0.25 * result.claimed_epsilon
    with internal.connect() as connection:  # the synthetic records are gone again
        assert connection.execute(select(func.count()).select_from(Stop)).scalar_one() == 0


@pytest.mark.parametrize(
    ("unit", "budget", "broken"),
    [
        (RECORD, GAUSSIAN, {"plan": _quiet}),
        (RECORD, LAPLACE, {"plan": _quiet}),
        (PERSON, GAUSSIAN, {"count": _unbounded}),
    ],
    ids=["gaussian-tenth-of-the-noise", "laplace-tenth-of-the-noise", "person-unbounded"],
)
def test_a_broken_engine_is_caught(
    sqlite_internal: Engine, unit: str, budget: str, broken: dict[str, Any]
) -> None:
    """What is shown here is the audit's power, so SQLite alone will do."""
    result = _audit(sqlite_internal, _policy(unit, budget), **broken)

    assert result.epsilon_lb > result.claimed_epsilon, result


def test_the_person_neighbour_reaches_the_sensitivity_through_the_sql_bounds(
    engines: tuple[Engine, Engine],
) -> None:
    """D' adds a person with over 10 records in each of 4 cells; bounded to c = 2 in g = 2
    cells, the table moves by exactly its L1 and L2 sensitivity, and the level (the
    quarter) by c * g: the worst case the charge is calibrated for."""
    internal, _ = engines

    neighbours = neighbouring_counts(
        internal, _policy(PERSON, GAUSSIAN), "stops_by_district", Q3, AREAS, BEAT_DISTRICT
    )

    own, level = (
        np.asarray(after) - np.asarray(before)
        for before, after in zip(neighbours.base, neighbours.neighbour, strict=True)
    )
    assert sorted(own.tolist()) == [0, 0, 0, 2, 2]  # four districts and unknown
    assert float(np.abs(own).sum()) == neighbours.parts[0].sensitivity.l1
    assert math.isclose(float(np.sqrt((own**2).sum())), neighbours.parts[0].sensitivity.l2)
    assert level.tolist() == [4] == [neighbours.parts[1].sensitivity.l1]


def test_the_record_neighbour_is_one_more_record(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines

    neighbours = neighbouring_counts(
        internal, _policy(RECORD, GAUSSIAN), "stops_by_district", Q3, AREAS, BEAT_DISTRICT
    )

    for before, after in zip(neighbours.base, neighbours.neighbour, strict=True):
        assert sorted(np.subtract(after, before).tolist())[-1] == 1
        assert sum(after) == sum(before) + 1


def test_the_audit_refuses_a_store_that_holds_records(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    flags = ("frisk_performed", "search_conducted", "contraband_found", "use_of_force")
    stop = {
        "source": "department",
        "source_id": "S1",
        "batch_id": 1,
        "occurred_at": datetime(2024, 8, 1),
        "district": "d1",
        "beat": "d1b1",
        "stop_type": "vehicular",
        "reason": "other",
        "subject_race": "black",
        "subject_sex": "male",
        "subject_age_band": "unknown",
        "outcome": "none",
        **dict.fromkeys(flags, "no"),
    }
    with internal.begin() as connection:
        connection.execute(insert(Stop), [stop])

    with pytest.raises(AuditError, match="empty, migrated scratch store"):
        neighbouring_counts(
            internal, _policy(RECORD, GAUSSIAN), "stops_by_district", Q3, AREAS, BEAT_DISTRICT
        )

    with internal.connect() as connection:  # the department's record is left alone
        assert connection.execute(select(func.count()).select_from(Stop)).scalar_one() == 1


# The statistics alone, on seeded draws with known answers.


def test_clopper_pearson_matches_its_closed_forms_at_the_ends() -> None:
    n, alpha = 500, 0.01

    low, high = clopper_pearson(np.asarray([0, n]), n, alpha)

    # No successes: P[0 of n] = (1 - p)^n = alpha at the upper bound; all: p^n = alpha.
    assert low[0] == 0.0 and high[1] == 1.0
    assert math.isclose(high[0], 1 - alpha ** (1 / n), rel_tol=1e-9)
    assert math.isclose(low[1], alpha ** (1 / n), rel_tol=1e-9)


def _gaussian_epsilon(mu: float, delta: float) -> float:
    """The exact epsilon at delta of a Gaussian shift mu (Balle and Wang 2018)."""

    def excess(epsilon: float) -> float:
        gap = norm.cdf(mu / 2 - epsilon / mu) - math.exp(epsilon) * norm.cdf(-mu / 2 - epsilon / mu)
        return float(gap - delta)

    return float(brentq(excess, 0.0, 100.0))


def test_the_bound_sits_below_a_known_gaussians_epsilon_and_finds_most_of_it() -> None:
    rng = np.random.default_rng(11)
    mu, delta, n = 1.0, 1e-2, 20_000

    bounds = epsilon_lower_bound(rng.normal(0, 1, n), rng.normal(mu, 1, n), delta, 0.95)

    truth = _gaussian_epsilon(mu, delta)
    best = max(b.epsilon for b in bounds)
    assert 0.6 * truth < best <= truth
    for bound in bounds:  # both directions see the same symmetric shift
        assert 0.5 * truth < bound.epsilon <= truth


def test_the_bound_is_nearly_tight_for_a_discrete_laplace_shift_of_one() -> None:
    rng = np.random.default_rng(12)
    epsilon, n = 1.0, 100_000
    p = 1 - math.exp(-epsilon)

    def laplace(size: int) -> np.ndarray[Any, Any]:
        return (rng.geometric(p, size) - rng.geometric(p, size)).astype(np.float64)

    # the statistic of one cell whose count is 0 on D and 1 on D'
    bounds = epsilon_lower_bound(laplace(n), laplace(n) + 1, 0.0, 0.95)

    assert 0.9 * epsilon < max(b.epsilon for b in bounds) <= epsilon


def test_indistinguishable_sides_give_a_zero_bound() -> None:
    rng = np.random.default_rng(13)

    bounds = epsilon_lower_bound(rng.normal(0, 1, 5000), rng.normal(0, 1, 5000), 1e-7, 0.95)

    assert [b.epsilon for b in bounds] == [0.0, 0.0]


def test_the_threshold_is_not_chosen_on_the_draws_that_bound_it() -> None:
    """Draws whose first half shows a gap that the second half does not: a bound chosen and
    evaluated on the same draws would report it; the held-out half gives zero."""
    rng = np.random.default_rng(14)
    base = rng.normal(0, 1, 4000)
    neighbour = rng.normal(0, 1, 4000)
    neighbour[:2000] += 5  # only in the selection half

    bounds = epsilon_lower_bound(base, neighbour, 1e-7, 0.95)

    assert [b.epsilon for b in bounds] == [0.0, 0.0]
