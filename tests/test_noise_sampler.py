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


@pytest.mark.parametrize(
    ("mechanism", "scale"), [("gaussian", 0.4), ("gaussian", 37.5), ("laplace", 2.2)]
)
def test_the_guide_is_the_plain_inversion_at_every_bin_edge(mechanism: str, scale: float) -> None:
    # The guide is built by counting steps per bin; built by searching every edge instead
    # (as it was), it is the same table, straddling bins included.
    sampler = NoiseSampler.of(mechanism, scale)
    cumulative, guide = sampler._inverse
    edges = np.arange(GUIDE_BINS + 1, dtype=np.float64) / GUIDE_BINS
    first = np.searchsorted(cumulative, edges[:-1], side="right")
    last = np.searchsorted(cumulative, np.nextafter(edges[1:], 0.0), side="right")
    top = len(sampler.support) - 1
    searched = np.where(first == last, sampler.support[first.clip(0, top)], np.nan)

    assert np.array_equal(guide, searched, equal_nan=True)
    assert guide.dtype == np.float32  # every value of these scales is exact in it


def test_a_huge_scale_draws_in_double_precision() -> None:
    assert NoiseSampler.of("gaussian", 2.0e6).float_type is np.float64
    assert NoiseSampler.of("gaussian", 1.0e5).float_type is np.float32
