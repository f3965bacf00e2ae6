"""Post-processing a release: consistent non-negative integers with honest intervals.

Everything here works on the signed noisy values and the known noise distribution only, so
it is free under differential privacy. The steps are those of the design:

1. the weighted least-squares estimate over the release's hierarchy (every table, every
   level; see :mod:`privacy.release.hierarchy`), which makes levels and tables agree;
2. non-negative integers, top down, so every group adds up exactly to its parent;
3. a 95% interval per cell from the simulated error of step 1 (see
   :mod:`privacy.release.intervals`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from privacy.release.hierarchy import Estimator, Hierarchy, PartShape
from privacy.release.intervals import (
    IN_PROCESS,
    Calibrations,
    Floats,
    HalfWidths,
    NoiseSampler,
    intervals,
)
from privacy.release.nesting import nesting
from privacy.release.noise import TableMeasurement
from privacy.release.parts import PartCounts
from publishing.releases import PublishedCell, PublishedTable


def release_hierarchy(parts: Sequence[PartCounts]) -> Hierarchy:
    """The nodes and groups of a release's tables, ``parts`` in the order
    :func:`privacy.release.parts.measured_parts` gives them, table after table."""
    shapes, offset = [], 0
    for index, part in enumerate(parts):
        if part.part.depth == 0:
            offset = index  # a table's own cells come first, then its levels in order
        shapes.append(
            PartShape(part.identities, None if part.up is None else offset + part.up, part.up_cells)
        )
    return Hierarchy(shapes)


@dataclass(frozen=True)
class Published:
    """Every node's consistent estimate, published integer and interval."""

    estimate: NDArray[np.float64]
    published: NDArray[np.int64]
    low: NDArray[np.int64]
    high: NDArray[np.int64]


# Below a noise scale of about 0.03 the noise is all but always zero and its exact variance
# underflows to 0. The floor keeps the least-squares weights finite; it only decides how such
# nearly exact measurements are weighed against each other (alike).
VARIANCE_FLOOR = 1e-12


class Noise(Protocol):
    """What post-processing needs of a measured part's noise (a planned noise or a charge)."""

    @property
    def mechanism(self) -> str: ...

    @property
    def noise_scale(self) -> float: ...


class NoiseModel:
    """A release's noise as post-processing sees it: the least-squares estimator its
    variances give, and the half-widths of its intervals, looked up or, when none is
    remembered, simulated (``simulate_apart``: in a forked child started at once). It needs
    the noise's scales only, so a release can start it before its OpenDP measurements are
    built (on PostgreSQL it does)."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        noise: Sequence[Noise | None],
        *,
        calibrations: Calibrations = IN_PROCESS,
        simulate_apart: bool = False,
    ) -> None:
        self.noise = [None if n is None else (n.mechanism, n.noise_scale) for n in noise]
        samplers = [NoiseSampler.none() if n is None else NoiseSampler.of(*n) for n in self.noise]
        # A level of weight 0 is not measured: its measurement has no weight at all.
        self.estimator = Estimator(
            hierarchy,
            [
                max(s.variance, VARIANCE_FLOOR) if n is not None else math.inf
                for s, n in zip(samplers, self.noise, strict=True)
            ],
        )
        self.half_widths = HalfWidths(
            self.estimator, samplers, remembered=calibrations, apart=simulate_apart
        )


class PostProcessor:
    """Post-processing for one release's structure and noise. The interval half-widths are
    simulated once, so publishing many draws (in tests and benchmarks) is cheap."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        parts: Sequence[PartCounts],
        planned: Sequence[TableMeasurement | None],
        *,
        calibrations: Calibrations = IN_PROCESS,
        simulate_apart: bool = False,
        model: NoiseModel | None = None,
    ) -> None:
        self.parts, self.planned = parts, planned
        charges = [None if p is None else p.charge for p in planned]
        if model is None:
            model = NoiseModel(
                hierarchy, charges, calibrations=calibrations, simulate_apart=simulate_apart
            )
        elif model.noise != [None if c is None else (c.mechanism, c.noise_scale) for c in charges]:
            raise ValueError("the noise model was started for other noise than was measured")
        self.estimator, self._half_widths = model.estimator, model.half_widths
        self.nesting = nesting(parts, hierarchy)

    def calibrate(self) -> None:
        """Have the half-widths in hand: wait for a simulation started apart (a release
        does so before it charges anything, so that a failure here spends nothing)."""
        _ = self.half

    def abandon(self) -> None:
        """Stop the simulation of the half-widths if it runs apart: the release failed."""
        self._half_widths.cancel()

    @cached_property
    def half(self) -> Floats:
        """Each node's interval half-width (waiting, the first time, for a simulation
        started apart)."""
        return self._half_widths.result()

    def publish(self, raw: Sequence[Sequence[int]]) -> Published:
        """Consistent integers and intervals for every node, from each part's signed noisy
        counts (zeros for a part that is not measured)."""
        estimate = self.estimator.estimate([np.asarray(r, dtype=np.int64) for r in raw])
        published = self.estimator.integers(estimate, *self.nesting)
        low, high = intervals(estimate, self.half, published)
        return Published(estimate, published, low, high)

    def tables(self, raw: Sequence[Sequence[int]]) -> tuple[PublishedTable, ...]:
        """The release's tables: one per measured part, levels included."""
        return self.contents(self.publish(raw), raw)

    def contents(
        self,
        result: Published,
        raw: Sequence[Sequence[int]],
        names: frozenset[str] | None = None,
    ) -> tuple[PublishedTable, ...]:
        """The tables of a published ``result`` (those named in ``names``, or all)."""
        variance = self.estimator.variance
        tables = []
        for part, noisy, plan, cells in zip(
            self.parts, raw, self.planned, self.estimator.hierarchy.cells, strict=True
        ):
            if plan is None:
                continue  # another table measures and publishes this level
            if names is not None and part.part.name not in names:
                continue
            spec, charge = part.part, plan.charge
            tables.append(
                PublishedTable(
                    name=spec.name,
                    title=spec.title,
                    source=spec.source,
                    dimensions=spec.dimensions,
                    level_of=spec.table.name if spec.depth else None,
                    mechanism=charge.mechanism,
                    noise_scale=charge.noise_scale,
                    rho=charge.rho,
                    epsilon=charge.epsilon_shown,
                    delta=charge.delta_shown,
                    cells=_in_key_order(
                        part,
                        [
                            PublishedCell(
                                key,
                                int(result.published[n]),
                                int(result.low[n]),
                                int(result.high[n]),
                                round(math.sqrt(variance[n]), 6),
                                int(r),
                                round(float(result.estimate[n]), 4),
                            )
                            for key, n, r in zip(part.keys, cells, noisy, strict=True)
                        ],
                    ),
                )
            )
        return tuple(tables)


def _in_key_order(part: PartCounts, measured: list[PublishedCell]) -> tuple[PublishedCell, ...]:
    """The part's measured cells and its structural zeros (codes the department profile
    says cannot occur: published as 0, exactly, with no noise and no interval), in the
    order of its full key set."""
    if not part.all_keys or len(part.kept) == len(part.all_keys):
        return tuple(measured)
    cells: list[PublishedCell | None] = [None] * len(part.all_keys)
    for position, cell in zip(part.kept, measured, strict=True):
        cells[position] = cell
    return tuple(
        cell if cell is not None else PublishedCell(key, 0, 0, 0, None, 0, 0.0, structural=True)
        for key, cell in zip(part.all_keys, cells, strict=True)
    )
