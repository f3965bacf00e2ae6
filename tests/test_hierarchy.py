"""Least squares over the release's hierarchy: exact, consistent, and honest about variance.

The two-pass estimate is checked against the textbook solution (dense weighted least
squares under the adding-up constraints) on random hierarchies shaped like a release: a
table split by district and a category with its districts as a level, a second table
splitting the same districts another way, and a beat table whose beats roll up into
districts of their own; all three share the quarter's total.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.release.hierarchy import Estimator, Hierarchy, PartShape, Workspace


def release_like(districts: int, races: int, outcomes: int, beats: int) -> list[PartShape]:
    race_keys = [(d, r) for d in range(districts) for r in range(races)]
    outcome_keys = [(d, o) for d in range(districts) for o in range(outcomes)]
    beat_keys = [(d, b) for d in range(districts) for b in range(beats)]
    district_ids = [("district", d) for d in range(districts)]
    return [
        PartShape([("race", k) for k in race_keys], 1, [d for d, _ in race_keys]),
        PartShape(district_ids, 2, [0] * districts),
        PartShape([("total",)]),
        PartShape([("outcome", k) for k in outcome_keys], 4, [d for d, _ in outcome_keys]),
        PartShape(district_ids, 5, [0] * districts),  # the same districts, split by outcome
        PartShape([("total",)]),
        PartShape([("beat", k) for k in beat_keys], 7, [d for d, _ in beat_keys]),
        PartShape([("beat district", d) for d in range(districts)], 8, [0] * districts),
        PartShape([("total",)]),
    ]


def dense_least_squares(
    parts: list[PartShape], variances: list[float], measured: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Minimise the weighted squared error over all nodes subject to every group adding up
    to its parent, by solving in the null space of the constraints."""
    ids: dict[object, int] = {}
    for part in parts:
        for identity in part.identities:
            ids.setdefault(identity, len(ids))
    n = len(ids)
    rows, weights, values = [], [], []
    for part, variance, y in zip(parts, variances, measured, strict=True):
        if np.isinf(variance):
            continue
        for identity, value in zip(part.identities, y, strict=True):
            row = np.zeros(n)
            row[ids[identity]] = 1.0
            rows.append(row)
            weights.append(1.0 / variance)
            values.append(value)
    constraints = {}
    for part in parts:
        if part.parent is None:
            continue
        parent_ids = parts[part.parent].identities
        for identity, up in zip(part.identities, part.parent_cells or [], strict=True):
            row = constraints.setdefault((id(part), up), np.zeros(n))
            row[ids[identity]] = 1.0
            row[ids[parent_ids[up]]] = -1.0
    c = np.array(list(constraints.values()))
    null = np.linalg.svd(c)[2][np.linalg.matrix_rank(c) :].T
    a = np.array(rows) @ null
    w = np.diag(weights)
    normal = np.linalg.inv(a.T @ w @ a)
    estimate = null @ normal @ a.T @ w @ np.array(values)
    covariance = null @ normal @ null.T
    return estimate, np.diag(covariance), ids


shapes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
variances = st.lists(st.floats(0.5, 50.0), min_size=9, max_size=9)


@settings(max_examples=60, deadline=None)
@given(shapes, variances, st.integers(0, 2**32 - 1), st.booleans())
def test_the_two_passes_are_exactly_weighted_least_squares(
    shape: tuple[int, int, int, int], variance: list[float], seed: int, drop_a_level: bool
) -> None:
    parts = release_like(*shape)
    if drop_a_level:
        variance[4] = np.inf  # the outcome table adds up to the districts without measuring
    rng = np.random.default_rng(seed)
    measured = [rng.normal(50, 20, len(p.identities)) for p in parts]

    estimator = Estimator(Hierarchy(parts), variance)
    estimate = estimator.estimate(measured)

    expected, expected_variance, ids = dense_least_squares(parts, variance, measured)
    for part, cells in zip(parts, estimator.hierarchy.cells, strict=True):
        nodes = [ids[i] for i in part.identities]
        np.testing.assert_allclose(estimate[cells], expected[nodes], rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(
            estimator.variance[cells], expected_variance[nodes], rtol=1e-7, atol=1e-9
        )


@settings(max_examples=60, deadline=None)
@given(shapes, variances, st.integers(0, 2**32 - 1))
def test_published_integers_add_up_everywhere_and_shared_margins_agree(
    shape: tuple[int, int, int, int], variance: list[float], seed: int
) -> None:
    parts = release_like(*shape)
    rng = np.random.default_rng(seed)
    measured = [rng.normal(3, 10, len(p.identities)) for p in parts]  # many below zero
    estimator = Estimator(Hierarchy(parts), variance)

    published = estimator.integers(estimator.estimate(measured))

    cells = estimator.hierarchy.cells
    assert (published >= 0).all()
    for index, part in enumerate(parts):
        if part.parent is None:
            continue
        sums = np.bincount(
            part.parent_cells, weights=published[cells[index]], minlength=len(cells[part.parent])
        )
        assert sums.astype(np.int64).tolist() == published[cells[part.parent]].tolist()
    assert published[cells[1]].tolist() == published[cells[4]].tolist()  # shared districts
    assert published[cells[2]] == published[cells[5]] == published[cells[8]]


def test_the_variance_is_the_spread_of_the_estimate() -> None:
    parts = release_like(3, 4, 2, 3)
    variance = [9.0, 4.0, 2.0, 9.0, 4.0, 2.0, 16.0, 4.0, 1.0]
    estimator = Estimator(Hierarchy(parts), variance)
    rng = np.random.default_rng(7)
    draws = 20_000
    noise = [
        rng.normal(0, np.sqrt(v), (len(p.identities), draws))
        for p, v in zip(parts, variance, strict=True)
    ]

    spread = estimator.estimate(noise).var(axis=1)

    # over 20,000 draws the sample variance has a relative sd of 1%: 6% is six sds
    np.testing.assert_allclose(spread, estimator.variance, rtol=0.06)
    leaves = estimator.hierarchy.cells[0]
    assert (estimator.variance[leaves] < 9.0).all()  # better than the raw measurement


@settings(max_examples=30, deadline=None)
@given(shapes, variances, st.integers(0, 2**32 - 1))
def test_a_batch_in_single_precision_is_the_double_precision_estimate(
    shape: tuple[int, int, int, int], variance: list[float], seed: int
) -> None:
    # The intervals' simulation estimates batches of draws in a reused single-precision
    # workspace: each draw's estimate is the release's own, to float32's precision.
    parts = release_like(*shape)
    rng = np.random.default_rng(seed)
    draws = 16
    noise = [rng.integers(-40, 41, (len(p.identities), draws)) for p in parts]
    estimator = Estimator(Hierarchy(parts), variance)
    work = Workspace(estimator, (draws,), np.float32)

    batch = [estimator.estimate(noise, work).copy() for _ in range(2)]  # the same workspace

    for draw in range(draws):
        alone = estimator.estimate([n[:, draw] for n in noise])
        for estimated in batch:
            assert estimated.dtype == np.float32
            np.testing.assert_allclose(estimated[:, draw], alone, rtol=1e-4, atol=1e-3)


def test_a_count_cannot_add_up_into_two_parents() -> None:
    parts = [
        PartShape([("a",)], 1, [0]),
        PartShape([("p",)]),
        PartShape([("a",)], 3, [0]),
        PartShape([("q",)]),
    ]
    with pytest.raises(ValueError, match="two different parents"):
        Hierarchy(parts)


def test_a_count_nobody_measures_is_refused() -> None:
    parts = [PartShape([("a",), ("b",)], 1, [0, 0]), PartShape([("p",)])]
    with pytest.raises(ValueError, match="must be measured"):
        Estimator(Hierarchy(parts), [np.inf, 1.0])
