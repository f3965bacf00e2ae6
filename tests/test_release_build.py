"""Building a release end to end: charged before noise, published whole, refused cleanly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from privacy.ingest import ingest_file, load_mapping
from privacy.release.aggregate import Sensitivity
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.intervals import NoiseSampler, intervals, publish_table
from privacy.release.ledger import BudgetExceeded, period_budgets
from privacy.release.noise import plan_measurement
from privacy.release.policy import load_policy, parse_policy
from privacy.store.models import BudgetCharge
from privacy.synth import generate_city
from publishing.releases import read_release

QUARTERLY = load_policy("quarterly")


@pytest.fixture
def city(engines: tuple[Engine, Engine], tmp_path: Path) -> tuple[Engine, Engine]:
    manifest = generate_city(tmp_path / "city", stops=3000, incidents=1500, force_events=100)
    for kind, path in (("areas", manifest.areas), ("stops", manifest.stops),
                       ("incidents", manifest.incidents), ("force", manifest.force)):
        ingest_file(*engines, kind, path, load_mapping(f"synthetic-{kind}"))
    return engines


def charges(internal: Engine) -> int:
    with internal.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(BudgetCharge)).scalar())


def test_a_release_publishes_every_cell_with_its_interval(city: tuple[Engine, Engine]) -> None:
    internal, public = city

    built = build_release(internal, public, "2024Q3", QUARTERLY, actor="test")

    release = read_release(public, built.release_id)
    assert release is not None and release.period == "2024Q3"
    assert {t.name for t in release.tables} == {t.name for t in QUARTERLY.tables}
    by_name = {t.name: t for t in release.tables}
    assert len(by_name["stops_by_month_beat"].cells) == 3 * (80 + 1)  # + unknown beat
    assert len(by_name["incidents_by_month_beat_offense"].cells) == 3 * 81 * 10
    for table in release.tables:
        published = [c.published for c in table.cells]
        raw_total = sum(c.raw_noisy for c in table.cells)
        assert all(c.ci_low <= c.published <= c.ci_high and c.published >= 0
                   for c in table.cells)
        assert sum(published) == max(0, raw_total)  # the noisy total is kept
    (budget,) = period_budgets(internal)
    assert math.isclose(budget.rho_spent, QUARTERLY.budget.rho)
    assert math.isclose(release.budget_statement["rho"], QUARTERLY.budget.rho)
    assert "differential privacy" in str(release.budget_statement["words"])


def test_refusals_spend_nothing(city: tuple[Engine, Engine]) -> None:
    internal, public = city
    build_release(internal, public, "2024Q3", QUARTERLY)
    spent = charges(internal)

    with pytest.raises(ReleaseRefused, match="already released under this policy"):
        build_release(internal, public, "2024Q3", QUARTERLY)
    with pytest.raises(BudgetExceeded, match=r"only rho=0 of its rho=0\.5 remains"):
        build_release(internal, public, "2024Q3", QUARTERLY, rerelease=True)
    with pytest.raises(ReleaseRefused, match="there are no force, incidents, stops records"):
        build_release(internal, public, "2031Q1", QUARTERLY)

    assert charges(internal) == spent


def test_no_areas_no_release(engines: tuple[Engine, Engine]) -> None:
    internal, public = engines
    with pytest.raises(ReleaseRefused, match="run `portal ingest areas FILE --mapping NAME`"):
        build_release(internal, public, "2024Q3", QUARTERLY)
    assert charges(internal) == 0


def test_interval_coverage_over_two_thousand_releases() -> None:
    """Per-cell coverage of the true counts by the published 95% intervals, with OpenDP's
    own noise, over 2,000 simulated releases of a small table."""
    policy = parse_policy("""
name = "small"
[budget]
rho = 0.1
[[tables]]
name = "t"
source = "stops"
dimensions = ["quarter", "district"]
weight = 1.0
""")
    true = np.array([40, 80, 25, 60, 12, 150])
    planned = plan_measurement(policy.tables[0], policy.budget, Sensitivity(1.0, 1.0),
                               true.size)
    sampler = NoiseSampler.of("gaussian", planned.charge.noise_scale)
    releases = 2000
    covered = np.zeros(true.size)
    for _ in range(releases):
        raw = np.array(planned.apply(tuple(int(x) for x in true)))
        published = publish_table(raw)
        low, high = intervals(raw, published, sampler)
        covered += (low <= true) & (true <= high)

    coverage = covered / releases
    # binomial sd at 0.95 over 2,000 draws is 0.005: [0.93, 0.97] is four sds each side
    assert ((coverage >= 0.93) & (coverage <= 0.97)).all(), coverage
