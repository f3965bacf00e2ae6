"""Post-processing: margins agree, counts are non-negative integers, hierarchies add up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.release.consistency import (
    combine_estimates,
    nonnegative_with_total,
    project_to_margin,
    round_hierarchy,
    round_with_total,
)

noisy = st.lists(st.floats(-50, 500, allow_nan=False), min_size=1, max_size=30)


def test_projection_spreads_each_groups_difference_evenly() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0])

    adjusted = project_to_margin(values, [0, 0, 0, 1], np.array([9.0, 7.0]))

    assert adjusted.tolist() == [2.0, 3.0, 4.0, 7.0]


def test_inverse_variance_weighting_favours_the_precise_estimate() -> None:
    combined = combine_estimates([np.array([10.0]), np.array([20.0])], [1.0, 4.0])
    assert combined.tolist() == pytest.approx([12.0])


@settings(max_examples=300, deadline=None)
@given(noisy, st.floats(0, 5000, allow_nan=False))
def test_the_simplex_projection_is_nonnegative_and_keeps_the_total(
    values: list[float], total: float
) -> None:
    projected = nonnegative_with_total(np.array(values), total)

    assert (projected >= 0).all()
    assert projected.sum() == pytest.approx(total, abs=1e-6 * max(1.0, total))


@settings(max_examples=300, deadline=None)
@given(noisy, st.integers(0, 5000))
def test_rounding_gives_nonnegative_integers_with_the_exact_total(
    values: list[float], total: int
) -> None:
    rounded = round_with_total(np.array(values), total)

    assert rounded.dtype == np.int64 and (rounded >= 0).all()
    assert int(rounded.sum()) == total
    real = nonnegative_with_total(np.array(values), total)
    assert np.all(np.abs(rounded - real) < 1 + 1e-9)


@given(st.lists(st.integers(0, 100), min_size=1, max_size=20))
def test_counts_that_already_fit_are_left_alone(counts: list[int]) -> None:
    values = np.array(counts, dtype=np.float64)
    assert round_with_total(values, sum(counts)).tolist() == counts


@settings(max_examples=200, deadline=None)
@given(st.floats(-20, 1000, allow_nan=False),
       st.lists(st.lists(st.floats(-20, 200, allow_nan=False), min_size=1, max_size=6),
                min_size=1, max_size=6))
def test_a_hierarchy_adds_up_exactly_at_every_level(
    city: float, beats_by_district: list[list[float]]
) -> None:
    districts = np.array([sum(b) for b in beats_by_district])
    total, district_ints, beat_ints = round_hierarchy(
        city, districts, [np.array(b) for b in beats_by_district])

    assert total >= 0 and int(district_ints.sum()) == total
    assert [int(b.sum()) for b in beat_ints] == district_ints.tolist()
    assert all((b >= 0).all() for b in beat_ints)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(-50, 500, allow_nan=False)),
                min_size=4, max_size=30),
       st.lists(st.floats(0, 2000, allow_nan=False), min_size=4, max_size=4))
def test_projected_groups_sum_to_their_margin(cells: list[tuple[int, float]],
                                              margin: list[float]) -> None:
    groups = [g for g, _ in cells] + [0, 1, 2, 3]  # every group has a cell
    values = np.array([x for _, x in cells] + [0.0] * 4)

    adjusted = project_to_margin(values, groups, np.array(margin))

    sums = np.bincount(np.array(groups), weights=adjusted, minlength=4)
    assert sums == pytest.approx(margin, abs=1e-6)
    # least squares: shifting some amount between two cells of a group keeps its sum but
    # only moves further from the noisy values
    members = [i for i, g in enumerate(groups) if g == groups[0]]
    if len(members) > 1:
        other = adjusted.copy()
        other[members[0]] += 1.0
        other[members[1]] -= 1.0
        assert np.sum((other - values) ** 2) >= np.sum((adjusted - values) ** 2) - 1e-9
