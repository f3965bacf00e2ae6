"""The noise the intervals' simulation draws is OpenDP's noise, exactly in distribution.

The intervals are only as honest as this: the simulation must draw the discrete Gaussian
(or discrete Laplace) that the release drew, at the same scale."""

from __future__ import annotations

import numpy as np
import pytest

from privacy.release.intervals import GUIDE_BINS, NoiseSampler


@pytest.mark.parametrize(
    ("mechanism", "scale"),
    [
        ("gaussian", 0.4),
        ("gaussian", 3.33),
        ("gaussian", 14.14),
        ("laplace", 0.7),
        ("laplace", 5.0),
    ],
)
def test_every_uniform_maps_to_the_value_plain_inversion_gives(
    mechanism: str, scale: float
) -> None:
    sampler = NoiseSampler.of(mechanism, scale)
    cumulative, guide = sampler._inverse
    settled = np.flatnonzero(~np.isnan(guide))
    low = np.arange(GUIDE_BINS)[settled] / GUIDE_BINS
    high = np.nextafter((np.arange(GUIDE_BINS)[settled] + 1) / GUIDE_BINS, 0.0)

    # A bin that settles a draw does so for its lowest and highest uniform alike, and the
    # inversion is monotone, so for every uniform in between.
    for edge in (low, high):
        plain = sampler.support[np.searchsorted(cumulative, edge, side="right")]
        assert np.array_equal(plain, guide[settled])
    assert len(settled) > 0.99 * GUIDE_BINS  # the shortcut is the rule, not the exception


def searched_guide(sampler: NoiseSampler) -> np.ndarray:
    """The guide by its definition: each bin's lowest and highest uniform searched in the
    cumulative distribution; the value where both agree, NaN where the bin holds a step."""
    cumulative = np.cumsum(sampler.probabilities)
    cumulative[-1] = 1.0
    edges = np.arange(GUIDE_BINS + 1, dtype=np.float64) / GUIDE_BINS
    first = np.searchsorted(cumulative, edges[:-1], side="right")
    last = np.searchsorted(cumulative, np.nextafter(edges[1:], 0.0), side="right")
    values = sampler.support[first.clip(0, len(sampler.support) - 1)]
    return np.where(first == last, values, np.nan)


def test_the_guide_is_its_definition_bin_for_bin() -> None:
    # The guide is counted from each step's bin rather than searched bin by bin (a sixth
    # of the cost); it must be the same table, straddling bins included.
    rng = np.random.default_rng(11)
    samplers = [NoiseSampler.none()] + [
        NoiseSampler.of(mechanism, float(scale))
        for mechanism in ("gaussian", "laplace")
        for scale in [1e-9, 0.03, 0.5, 1.0, *np.exp(rng.uniform(-7, 10, 300))]
    ]
    for _ in range(300):  # distributions with steps anywhere, some in one bin together
        p = rng.dirichlet(np.full(int(rng.integers(1, 400)), rng.uniform(0.01, 5)))
        samplers.append(NoiseSampler(np.arange(len(p)) - len(p) // 2, p))
    for sampler in samplers:
        _, guide = sampler._inverse
        assert np.array_equal(guide, searched_guide(sampler), equal_nan=True)


@pytest.mark.parametrize(
    ("mechanism", "scale"), [("gaussian", 0.4), ("gaussian", 3.33), ("laplace", 5.0)]
)
def test_draws_follow_the_exact_probabilities(mechanism: str, scale: float) -> None:
    sampler = NoiseSampler.of(mechanism, scale)
    draws = 1_000_000
    drawn = np.empty(draws)
    sampler.draw(np.random.default_rng(7), drawn)
    drawn = drawn.astype(np.int64)

    counts = np.bincount(drawn - sampler.support[0], minlength=len(sampler.support))
    p = sampler.probabilities
    # Six standard errors per value (and a floor for values too rare to be seen): a real
    # error, such as a value's share moved to its neighbour, is far larger.
    assert np.all(np.abs(counts / draws - p) <= 6 * np.sqrt(p * (1 - p) / draws) + 1e-6)
    assert np.var(drawn) == pytest.approx(sampler.variance, rel=0.01)


def test_a_huge_scale_draws_in_double_precision() -> None:
    # Single precision holds every integer up to 2**24 exactly (12 scales of about 1.4M).
    beyond = NoiseSampler(np.array([-(2**24), 0, 2**24]), np.array([0.25, 0.5, 0.25]))
    assert beyond.float_type is np.float64
    assert beyond._inverse[1].dtype == np.float64
    assert NoiseSampler.of("gaussian", 1.0e5)._inverse[1].dtype == np.float32
