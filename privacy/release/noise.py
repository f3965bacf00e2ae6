"""Noise through OpenDP: one measurement per table, checked against what the ledger charges.

A table's measurement is built first and inspected (its privacy map at the table's
sensitivity) before anything is charged; the charge is the map's own value, so the ledger
records exactly what OpenDP says the release costs. Noise is drawn only after the charge
has committed (see :mod:`privacy.release.ledger`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

# OpenDP's modules one by one: its prelude also imports its extras (scikit-learn, polars).
import opendp.measurements as dpm
from opendp.domains import atom_domain, vector_domain
from opendp.measures import ZeroConcentratedDivergence
from opendp.metrics import l1_distance, l2_distance
from opendp.mod import enable_features

from privacy.release.accounting import epsilon_for
from privacy.release.aggregate import Sensitivity
from privacy.release.ledger import Charge
from privacy.release.policy import Budget

enable_features("contrib")

# The map may exceed the planned share by float rounding only.
MAP_TOLERANCE = 1e-9


class Measured(Protocol):
    """What is measured: a named table (or level) of a source's records, with its share of
    the budget."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def weight(self) -> float: ...


class MeasurementMismatch(RuntimeError):
    """OpenDP's privacy map disagrees with the planned charge; nothing may be released."""


@dataclass(frozen=True)
class TableMeasurement:
    """A table's OpenDP measurement, ready to apply, and what applying it costs."""

    spec: Measured
    measurement: Any  # opendp.mod.Measurement over a vector of the table's size
    charge: Charge

    def apply(self, counts: tuple[int, ...]) -> list[int]:
        """Draw the noise: the signed noisy counts. Call only after the charge committed."""
        noisy: list[int] = self.measurement(list(counts))
        return noisy


def draw_all(
    measurements: Sequence[TableMeasurement | None], counts: Sequence[tuple[int, ...]]
) -> list[list[int]]:
    """Each table's noisy counts (zeros for a table that is not measured), in order. Call
    only after the charge committed.

    OpenDP samples with the interpreter's lock released, and one table (the largest) often
    takes more time than all the others together: it is drawn in a thread of its own while
    this one draws the rest, so the release's draws take about as long as that table's.
    """
    sizes = [len(c) if m is not None else 0 for m, c in zip(measurements, counts, strict=True)]
    largest = max(range(len(sizes)), key=sizes.__getitem__, default=None)
    if largest is None or sizes[largest] == sum(sizes):  # one table, or none, to draw
        return [_drawn(m, c) for m, c in zip(measurements, counts, strict=True)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="release-noise") as pool:
        apart = pool.submit(_drawn, measurements[largest], counts[largest])
        raw = [
            [] if at == largest else _drawn(m, c)
            for at, (m, c) in enumerate(zip(measurements, counts, strict=True))
        ]
        raw[largest] = apart.result()
    return raw


def _drawn(measurement: TableMeasurement | None, counts: tuple[int, ...]) -> list[int]:
    """A table's noisy counts, or zeros for a table that is not measured."""
    return [0] * len(counts) if measurement is None else measurement.apply(counts)


@dataclass(frozen=True)
class PlannedNoise:
    """The noise a table gets for its share of the budget, worked out from the policy
    alone: what its OpenDP measurement is built with, and what the intervals' simulation
    needs (it can start before the measurements are built)."""

    mechanism: str  # "gaussian" or "laplace", as OpenDP names them
    noise_scale: float
    share: float  # the table's share of the budget: rho, or epsilon for "laplace"
    sensitivity: float  # L2 for "gaussian", L1 for "laplace"


def planned_noise(spec: Measured, budget: Budget, sensitivity: Sensitivity) -> PlannedNoise:
    """The mechanism and scale of the table's noise for its share of ``budget``."""
    if budget.mechanism == "gaussian":
        rho = budget.rho * budget.share * spec.weight
        return PlannedNoise("gaussian", sensitivity.l2 / math.sqrt(2.0 * rho), rho, sensitivity.l2)
    assert budget.epsilon is not None
    epsilon = budget.epsilon * budget.share * spec.weight
    return PlannedNoise("laplace", sensitivity.l1 / epsilon, epsilon, sensitivity.l1)


def plan_measurement(
    spec: Measured, budget: Budget, sensitivity: Sensitivity, size: int
) -> TableMeasurement:
    """Build the table's measurement for its share of ``budget`` and check its map."""
    noise = planned_noise(spec, budget, sensitivity)
    domain = vector_domain(atom_domain(T=int), size=size)
    if noise.mechanism == "gaussian":
        measurement = dpm.make_gaussian(
            domain, l2_distance(T=float), scale=noise.noise_scale, MO=ZeroConcentratedDivergence
        )
        spent = float(measurement.map(noise.sensitivity))  # type: ignore[no-untyped-call]
        _check(spec, spent, noise.share, "rho")
        charge = Charge(
            spec.name,
            spec.source,
            "gaussian",
            noise.sensitivity,
            noise.noise_scale,
            rho=spent,
            epsilon=None,  # zCDP has no pure-DP epsilon; epsilon_shown is at delta
            epsilon_shown=epsilon_for(spent, budget.delta),
            delta_shown=budget.delta,
        )
    else:
        measurement = dpm.make_laplace(domain, l1_distance(T=float), scale=noise.noise_scale)
        spent_epsilon = float(measurement.map(noise.sensitivity))  # type: ignore[no-untyped-call]
        _check(spec, spent_epsilon, noise.share, "epsilon")
        # The ledger counts a pure-DP policy in epsilon; the rho is what the charge costs a
        # zCDP period (epsilon-DP implies epsilon^2 / 2-zCDP).
        charge = Charge(
            spec.name,
            spec.source,
            "laplace",
            noise.sensitivity,
            noise.noise_scale,
            rho=spent_epsilon**2 / 2,
            epsilon=spent_epsilon,
            epsilon_shown=spent_epsilon,
            delta_shown=0.0,
        )
    return TableMeasurement(spec, measurement, charge)


def _check(spec: Measured, spent: float, planned: float, name: str) -> None:
    if not spent <= planned * (1 + MAP_TOLERANCE):
        raise MeasurementMismatch(
            f"table {spec.name}: OpenDP's privacy map gives {name}={spent!r}, more than the "
            f"planned {planned!r}; refusing to charge or release"
        )
