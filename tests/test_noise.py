"""Noise through OpenDP: the measurement's map is the charge, and the scale is OpenDP's own."""

from __future__ import annotations

import math
import statistics
import warnings

import opendp.prelude as dp
import polars as pl
import pytest

from privacy.release.aggregate import Sensitivity, sensitivity
from privacy.release.noise import plan_measurement
from privacy.release.policy import PrivacyUnit, load_policy, parse_policy

QUARTERLY = load_policy("quarterly")


def test_the_charge_is_the_privacy_map_of_the_table_share() -> None:
    table = QUARTERLY.table("stops_by_month_beat")

    planned = plan_measurement(table, QUARTERLY.budget, sensitivity(QUARTERLY.unit), 30)

    rho = QUARTERLY.budget.rho * table.weight
    assert math.isclose(planned.charge.rho, rho, rel_tol=1e-12)
    assert math.isclose(planned.charge.noise_scale, 1 / math.sqrt(2 * rho))
    assert planned.charge.rho < planned.charge.epsilon_shown
    assert planned.charge.delta_shown == QUARTERLY.budget.delta


def test_the_scale_matches_opendps_polars_front_end() -> None:
    """The same table through OpenDP's own polars API gets the same noise scale."""
    table = QUARTERLY.table("stops_by_district_race")
    rho = QUARTERLY.budget.rho * table.weight
    frame = pl.LazyFrame({"district": ["d1", "d2", "d1"], "subject_race": ["black"] * 3})
    context = dp.Context.compositor(
        data=frame,
        privacy_unit=dp.unit_of(contributions=1),
        privacy_loss=dp.loss_of(rho=rho),
        split_evenly_over=1,
        margins=[dp.polars.Margin(by=["district", "subject_race"], invariant="keys")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the default of `signed` will change
        query = context.query().group_by(["district", "subject_race"]).agg(dp.len())
        their_scale = float(query.summarize()["scale"][0])

    ours = plan_measurement(table, QUARTERLY.budget, sensitivity(QUARTERLY.unit), 12)

    assert math.isclose(ours.charge.noise_scale, their_scale, rel_tol=1e-6)


def test_a_pure_dp_policy_uses_discrete_laplace() -> None:
    policy = parse_policy("""
name = "pure"
[budget]
mechanism = "laplace"
epsilon = 1.0
[[tables]]
name = "t"
source = "stops"
dimensions = ["quarter", "district"]
weight = 1.0
""")
    planned = plan_measurement(policy.tables[0], policy.budget, Sensitivity(1.0, 1.0), 5)

    assert (planned.charge.mechanism, planned.charge.noise_scale) == ("laplace", 1.0)
    assert (planned.charge.epsilon_shown, planned.charge.rho) == (1.0, 0.5)


def test_a_person_unit_scales_noise_by_its_l2_sensitivity() -> None:
    unit = PrivacyUnit("person", max_records_per_cell=2, max_cells=4)
    table = QUARTERLY.table("stops_by_month_beat")

    planned = plan_measurement(table, QUARTERLY.budget, sensitivity(unit), 3)

    rho = QUARTERLY.budget.rho * table.weight
    assert math.isclose(planned.charge.noise_scale, 2 * math.sqrt(4) / math.sqrt(2 * rho))
    assert math.isclose(planned.charge.rho, rho, rel_tol=1e-12)


def test_drawn_noise_has_the_stated_spread() -> None:
    table = QUARTERLY.table("stops_by_month_beat")
    planned = plan_measurement(table, QUARTERLY.budget, sensitivity(QUARTERLY.unit), 4000)
    sigma = planned.charge.noise_scale

    draws = [x for _ in range(5) for x in planned.apply((100,) * 4000)]
    errors = [x - 100 for x in draws]

    # 20,000 draws: the sample sd is within 5% of sigma with overwhelming probability
    assert abs(statistics.fmean(errors)) < 0.1 * sigma
    assert statistics.pstdev(errors) == pytest.approx(sigma, rel=0.05)
    assert all(isinstance(x, int) for x in draws[:10])
