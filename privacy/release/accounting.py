"""Privacy accounting with OpenDP: what a zCDP budget means as (epsilon, delta)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

# OpenDP's modules one by one: its prelude also imports its extras (scikit-learn, polars),
# which cost seconds at every start of a command that releases.
import opendp.combinators as dpc
import opendp.measurements as dpm
from opendp.domains import atom_domain
from opendp.metrics import absolute_distance
from opendp.mod import OpenDPException, enable_features

from privacy.release.composition import parallel_sum

enable_features("contrib")


@lru_cache(maxsize=1024)  # a pure function of its two numbers, and about 10 ms a call
def epsilon_for(rho: float, delta: float) -> float:
    """The smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP, by OpenDP's own
    conversion (tighter than the textbook rho + 2 sqrt(rho ln(1/delta))). For a rho so large
    that OpenDP's conversion overflows (a budget meant to check a pipeline with negligible
    noise), the textbook bound, which is also a valid epsilon."""
    if rho <= 0:
        raise ValueError("rho must be positive")
    try:
        return _opendp_epsilon(rho, delta)
    except OpenDPException as error:
        if "Overflow" not in str(error):
            raise
        return textbook_epsilon(rho, delta)


def textbook_epsilon(rho: float, delta: float) -> float:
    """Bun and Steinke's conversion: rho-zCDP implies (rho + 2 sqrt(rho ln(1/delta)), delta)."""
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


def _opendp_epsilon(rho: float, delta: float) -> float:
    # A Gaussian mechanism whose privacy map gives exactly rho at sensitivity 1 carries the
    # curve of rho-zCDP; OpenDP converts that curve to (epsilon, delta).
    scale = 1.0 / math.sqrt(2.0 * rho)
    measurement = dpm.make_gaussian(
        atom_domain(T=float, nan=False), absolute_distance(T=float), scale=scale
    )
    profile = dpc.make_zCDP_to_approxDP(measurement).map(1.0)  # type: ignore[no-untyped-call]
    return float(profile.epsilon(delta))


def release_privacy(
    mechanism: str,
    delta: float,
    rhos: Sequence[float],
    epsilons: Sequence[float],
    sources: Sequence[str] | None = None,
) -> tuple[float, float, float]:
    """A whole release's (rho, epsilon, delta) from its tables' charges: zCDP composes by
    adding rhos, then converts; pure DP (``laplace``) composes by adding epsilons.

    With ``sources`` (one per charge; given under the record unit only) the tables of
    different sources compose in parallel: no record is both a stop and an incident, so one
    record's loss is that of its own source's tables, and the release costs the largest
    source's sum, not the sum of all."""
    rho = parallel_sum(rhos, sources)
    if mechanism == "laplace":
        return rho, parallel_sum(epsilons, sources), 0.0
    return rho, epsilon_for(rho, delta), delta
