"""A release's shape: its cells, levels and noise, known before any record is read.

Everything here depends on the policy, the period and the declared areas only. So the
release engine prepares it while the database counts (:mod:`privacy.release.build`), and
``portal release plan`` shows it, with the intervals it implies, without spending budget
(:mod:`privacy.release.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from privacy.release.aggregate import TableCounts, key_set
from privacy.release.calibrations import StoredCalibrations
from privacy.release.hierarchy import Hierarchy
from privacy.release.noise import TableMeasurement, plan_measurement
from privacy.release.parts import PartCounts, measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import Policy, TableSpec
from privacy.release.postprocess import PostProcessor, release_hierarchy
from publishing.areas import area_codes, beat_districts


class ReleaseRefused(Exception):
    """A release that was not built; the message says why and what to do. Nothing was
    charged."""


@dataclass(frozen=True)
class ReleaseShape:
    """The parts of a release (every table and level, all counts zero), their hierarchy,
    and the public areas their key sets come from."""

    quarter: Quarter
    areas: dict[str, tuple[str, ...]]
    districts: dict[str, str]
    parts: list[PartCounts]
    hierarchy: Hierarchy


def release_shape(public: Engine, quarter: Quarter, policy: Policy) -> ReleaseShape:
    """The shape of ``policy``'s release of ``quarter``. Refuses (nothing spent) when no
    areas are declared or the policy's levels do not nest."""
    areas = area_codes(public)
    if not areas.get("district"):
        raise ReleaseRefused(
            "no areas are declared in the public store, so no table has a "
            "key set: run `portal ingest areas FILE --mapping NAME` first"
        )
    districts = beat_districts(public)
    parts = [
        part
        for spec in policy.tables
        for part in measured_parts(
            no_counts(spec, quarter, areas), quarter, policy.unit, areas, districts
        )
    ]
    return ReleaseShape(quarter, areas, districts, parts, release_hierarchy(parts))


def prepare(
    shape: ReleaseShape, policy: Policy, internal: Engine
) -> tuple[list[TableMeasurement | None], PostProcessor]:
    """Each part's OpenDP measurement, built and its privacy map checked (a mismatch raises
    before anything is charged), and the release's post-processing, whose interval
    calibration is read from the internal store or simulated and kept there."""
    planned = [
        plan_measurement(p.part, policy.budget, p.sensitivity, len(p.keys))
        if p.part.measured
        else None
        for p in shape.parts
    ]
    processor = PostProcessor(
        shape.hierarchy, shape.parts, planned, calibrations=StoredCalibrations(internal)
    )
    return planned, processor


def no_counts(spec: TableSpec, quarter: Quarter, areas: dict[str, tuple[str, ...]]) -> TableCounts:
    """A table's key set with zero counts: its shape, without the data."""
    keys = tuple(key_set(spec, quarter, areas))
    return TableCounts(spec, keys, (0,) * len(keys))
