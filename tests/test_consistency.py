"""Rounding: non-negative integers that keep a total, as close as can be to noisy values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.release.consistency import (
    capped_with_total,
    nonnegative_with_total,
    round_with_total,
    round_with_total_capped,
)

noisy = st.lists(st.floats(-50, 500, allow_nan=False), min_size=1, max_size=30)


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


capped_case = st.lists(
    st.tuples(st.floats(-50, 500, allow_nan=False), st.integers(0, 300)), min_size=1, max_size=30
)


@settings(max_examples=300, deadline=None)
@given(capped_case, st.floats(0, 1, allow_nan=False))
def test_capped_rounding_keeps_the_total_and_every_cap(
    cells: list[tuple[float, int]], fraction: float
) -> None:
    values = np.array([v for v, _ in cells])
    caps = np.array([c for _, c in cells], dtype=np.int64)
    total = int(fraction * caps.sum())

    rounded = round_with_total_capped(values, total, caps)

    assert int(rounded.sum()) == total
    assert (rounded >= 0).all() and (rounded <= caps).all()
    real = capped_with_total(values, total, caps.astype(np.float64))
    assert np.all(np.abs(rounded - real) < 1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(noisy, st.integers(0, 5000))
def test_caps_that_never_bind_change_nothing(values: list[float], total: int) -> None:
    caps = np.full(len(values), total, dtype=np.int64)
    assert np.allclose(
        capped_with_total(np.array(values), total, caps.astype(np.float64)),
        nonnegative_with_total(np.array(values), total),
        atol=1e-6,
    )


@settings(max_examples=300, deadline=None)
@given(capped_case, st.floats(0, 1, allow_nan=False))
def test_the_capped_vector_is_the_closest_one(
    cells: list[tuple[float, int]], fraction: float
) -> None:
    # The closest vector within the caps with that total is clip(values - t, 0, caps) for
    # one shift t: every cell strictly inside its bounds is shifted by t, a cell at 0 had
    # a value of at most t, a cell at its cap a value at least its cap above t.
    values = np.array([v for v, _ in cells])
    caps = np.array([c for _, c in cells], dtype=np.float64)
    total = fraction * caps.sum()

    capped = capped_with_total(values, total, caps)

    assert capped.sum() == pytest.approx(total, abs=1e-7 * max(1.0, total))
    tolerance = 1e-7 * max(1.0, float(np.abs(values).max()), float(caps.max()))
    inside = (capped > tolerance) & (capped < caps - tolerance)
    if inside.any():
        shifts = values[inside] - capped[inside]
        shift = float(shifts.mean())
        assert np.allclose(shifts, shift, atol=tolerance)
        at_zero = (capped <= tolerance) & (caps > tolerance)  # a cap of 0 is both bounds
        assert (values[at_zero] <= shift + tolerance).all()
        at_cap = (capped >= caps - tolerance) & (caps > tolerance)
        assert (values[at_cap] - caps[at_cap] >= shift - tolerance).all()
