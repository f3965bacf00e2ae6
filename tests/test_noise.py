"""Noise through OpenDP: the measurement's map is the charge, and the scale is OpenDP's own."""

from __future__ import annotations

import math
import statistics
import threading
import warnings
from typing import Any, cast

import opendp.prelude as dp
import polars as pl
import pytest

from privacy.release.aggregate import Sensitivity, sensitivity
from privacy.release.noise import TableMeasurement, draw_all, plan_measurement
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


def test_every_table_gets_its_own_noise_in_order_and_an_unmeasured_one_zeros() -> None:
    table = QUARTERLY.table("stops_by_month_beat")
    unit = sensitivity(QUARTERLY.unit)
    small, large = (plan_measurement(table, QUARTERLY.budget, unit, n) for n in (3, 3000))
    counts = [(1_000, 2_000, 3_000), (0, 0), (50_000,) * 3000]

    raw = draw_all([small, None, large], counts)

    sigma = large.charge.noise_scale
    assert [len(r) for r in raw] == [3, 2, 3000]
    assert raw[1] == [0, 0]  # not measured: nothing drawn
    # Each table's noise is around its own counts (sigma is about 2.7; the counts are 1,000 apart).
    assert all(abs(x - c) < 20 * sigma for x, c in zip(raw[0], counts[0], strict=True))
    assert abs(statistics.fmean(raw[2]) - 50_000) < sigma
    assert statistics.pstdev(raw[2]) == pytest.approx(sigma, rel=0.1)


class _Recorded:
    """A measurement that answers with its counts and notes the thread that drew it."""

    def __init__(self, drawn_in: dict[int, str], size: int) -> None:
        self.drawn_in, self.size = drawn_in, size

    def apply(self, counts: tuple[int, ...]) -> list[int]:
        self.drawn_in[self.size] = threading.current_thread().name
        return list(counts)


def test_the_largest_table_is_drawn_beside_the_others() -> None:
    """OpenDP samples without the interpreter's lock, and one table is often most of a
    release's cells: it is drawn in a thread of its own while the caller draws the rest."""
    drawn_in: dict[int, str] = {}
    sizes = (2, 40, 5)
    measurements = [cast(TableMeasurement, _Recorded(drawn_in, n)) for n in sizes]
    counts = [tuple(range(n)) for n in sizes]

    raw = draw_all(measurements, counts)

    assert raw == [list(c) for c in counts]
    here = threading.current_thread().name
    assert drawn_in[2] == drawn_in[5] == here
    assert drawn_in[40] != here


def test_a_lone_table_is_drawn_in_the_calling_thread() -> None:
    drawn_in: dict[int, str] = {}
    measurements: list[Any] = [_Recorded(drawn_in, 7), None]

    assert draw_all(measurements, [tuple(range(7)), (0,)]) == [list(range(7)), [0]]
    assert drawn_in == {7: threading.current_thread().name}
