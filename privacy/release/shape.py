"""A release's shape: its cells, levels and noise, known before any record is read.

Everything here depends on the policy, the period, the declared areas and the declared
department profile only. So the release engine prepares it while the database counts
(:mod:`privacy.release.build`), and ``portal release plan`` shows it, with the intervals
it implies, without spending budget (:mod:`privacy.release.plan`).

The profile decides which tables are released at all (a source the department does not
publish, or a field it does not record, gives a table of noise only: it is withheld and
spends nothing), which cells are structural zeros (a code that cannot occur), and how much
of the quarter each source's data cover.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Engine

from privacy.release.aggregate import TableCounts, key_set
from privacy.release.calibrations import StoredCalibrations
from privacy.release.hierarchy import Hierarchy
from privacy.release.noise import TableMeasurement, plan_measurement, planned_noise
from privacy.release.parts import PartCounts, measured_parts, with_counts
from privacy.release.periods import Quarter
from privacy.release.policy import AREA_DIMENSIONS, TIME_DIMENSIONS, Policy, TableSpec
from privacy.release.postprocess import NoiseModel, PostProcessor, release_hierarchy
from privacy.release.scans import count_tables
from publishing.areas import area_codes, beat_districts
from publishing.profile import DepartmentProfile, read_profile
from publishing.statement import PUBLISHED_AS
from publishing.statement import WITHHELD_BECAUSE as BECAUSE
from publishing.vocabularies import FAMILIES


class ReleaseRefused(Exception):
    """A release that was not built; the message says why and what to do. Nothing was
    charged."""


@dataclass(frozen=True)
class ReleaseShape:
    """The parts of a release (every released table and level, all counts zero), their
    hierarchy, the public areas their key sets come from, and what the department profile
    decided: the tables released, those withheld (with why), each source's coverage."""

    quarter: Quarter
    areas: dict[str, tuple[str, ...]]
    districts: dict[str, str]
    parts: list[PartCounts]
    hierarchy: Hierarchy
    tables: tuple[TableSpec, ...]
    withheld: tuple[tuple[str, str], ...]  # (table, why)
    coverage: dict[str, tuple[date, date]]  # source -> (first day, day after the last)
    profile: DepartmentProfile | None

    @property
    def partial(self) -> bool:
        """Whether a released source's data cover only part of the quarter."""
        whole = (self.quarter.start.date(), self.quarter.end.date())
        return any(window != whole for window in self.coverage.values())


def release_shape(public: Engine, quarter: Quarter, policy: Policy) -> ReleaseShape:
    """The shape of ``policy``'s release of ``quarter``. Refuses (nothing spent) when no
    areas are declared, when the department profile leaves no table to release, or when
    the profile's declared windows cover none of the quarter."""
    areas = area_codes(public)
    if not areas.get("district"):
        raise ReleaseRefused(
            "no areas are declared in the public store, so no table has a "
            "key set: run `portal ingest areas FILE --mapping NAME` first"
        )
    districts = beat_districts(public)
    profile = read_profile(public)
    coverage = _coverage(profile, quarter, {spec.source for spec in policy.tables})
    released, withheld = [], []
    for declared in policy.tables:
        missing = _areas_missing(areas, profile, declared)
        spec = without_areas(declared, set(missing))
        because = "; ".join(dict.fromkeys(missing.values()))
        if spec is None:
            withheld.append((declared.name, because))
            continue
        if spec is not declared:
            withheld.append((declared.name, f"{because}{PUBLISHED_AS}{spec.name}"))
        spec = in_declared_vocabularies(spec, profile)
        why = withheld_because(spec, profile)
        if why is None and spec.source not in coverage:
            why = BECAUSE["not_covered"].format(noun=_NOUNS[spec.source], quarter=quarter)
        if why is None:
            released.append(spec)
        else:
            withheld.append((spec.name, why))
    coverage = {s: w for s, w in coverage.items() if any(t.source == s for t in released)}
    if not released:
        raise ReleaseRefused(
            f"the department profile leaves no table of this policy to release for {quarter} ("
            + "; ".join(f"{name}: {why}" for name, why in withheld)
            + "): see `portal profile show`"
        )
    parts = [
        part
        for spec in released
        for part in measured_parts(
            no_counts(spec, quarter, areas), quarter, policy.unit, areas, districts, profile
        )
    ]
    return ReleaseShape(
        quarter,
        areas,
        districts,
        parts,
        release_hierarchy(parts),
        tuple(released),
        tuple(withheld),
        coverage,
        profile,
    )


def without_areas(spec: TableSpec, missing: set[str]) -> TableSpec | None:
    """``spec`` without the area levels in ``missing`` (a department that declares no beats,
    or a source whose records name no district): a table by such a level becomes its first
    level without any of them that keeps its other dimensions (counted from what each
    record does name, at the table's whole weight), keeping the levels after it; None when
    there is none. Areas and profile are public declarations, so this depends on no
    record."""
    if not missing & set(spec.dimensions):
        return spec
    # The level must keep what the table is about (its months, its races): a table by
    # district and race becomes no total of stops that says nothing about race.
    kept = set(spec.dimensions) - set(AREA_DIMENSIONS)
    for at, level in enumerate(spec.levels):
        if not missing & set(level.dimensions) and kept <= set(level.dimensions):
            return replace(
                spec,
                name=level.name,
                title=level.title,
                dimensions=level.dimensions,
                levels=spec.levels[at + 1 :],
            )
    return None


def _areas_missing(
    areas: dict[str, tuple[str, ...]], profile: DepartmentProfile | None, spec: TableSpec
) -> dict[str, str]:
    """The area levels a table of ``spec``'s source cannot be counted by, each with why."""
    recorded = profile.sources.get(spec.source) if profile is not None else None
    used = {d for dims in (spec.dimensions, *(lv.dimensions for lv in spec.levels)) for d in dims}
    undeclared = [level for level in AREA_DIMENSIONS if level in used and not areas.get(level)]
    unnamed = [
        level
        for level in AREA_DIMENSIONS
        if level in used
        and level not in undeclared
        and recorded is not None
        and not recorded.records_area(level)
    ]
    missing = {level: BECAUSE["no_areas"].format(areas=f"{level}s") for level in undeclared}
    missing |= {
        level: BECAUSE["unnamed_areas"].format(
            noun=_NOUNS[spec.source], levels=" or ".join(unnamed)
        )
        for level in unnamed
    }
    return missing


def in_declared_vocabularies(spec: TableSpec, profile: DepartmentProfile | None) -> TableSpec:
    """``spec`` counting each coded field in the vocabulary the department profile declares
    for it (a public declaration: the key set depends on no record)."""
    if profile is None or spec.source not in profile.sources:
        return spec
    declared = profile.sources[spec.source].vocabularies
    chosen = tuple((d, declared[d]) for d in spec.dimensions if d in declared)
    return replace(spec, vocabularies=chosen) if chosen else spec


def vocabularies_used(tables: tuple[TableSpec, ...]) -> dict[str, str]:
    """The vocabulary of every coded field the tables count by (for the release's
    statement, so that the site names codes and headline figures in the same terms)."""
    used: dict[str, str] = {}
    for spec in tables:
        chosen = dict(spec.vocabularies)
        for dimension in spec.dimensions:
            if dimension in FAMILIES:
                used[dimension] = chosen.get(dimension, FAMILIES[dimension][0].name)
    return dict(sorted(used.items()))


def withheld_because(spec: TableSpec, profile: DepartmentProfile | None) -> str | None:
    """Why the department profile leaves ``spec`` unreleased, or None to release it: it
    would publish noise only."""
    if profile is None:
        return None
    if not profile.publishes(spec.source):
        return BECAUSE["not_published"].format(noun=_NOUNS[spec.source])
    recorded = profile.sources[spec.source]
    for dimension in spec.dimensions:
        if dimension not in (*TIME_DIMENSIONS, *AREA_DIMENSIONS) and not recorded.records(
            dimension
        ):
            return BECAUSE["not_recorded"].format(field=dimension, noun=_NOUNS[spec.source])
    for field, codes in spec.where:
        if not any(recorded.can_occur(field, code) for code in codes):
            if not recorded.records(field):
                return BECAUSE["not_recorded"].format(field=field, noun=_NOUNS[spec.source])
            return BECAUSE["cannot_occur"].format(field=field, codes=", ".join(codes))
    return None


_NOUNS = {"stops": "stops", "incidents": "crime reports", "force": "uses of force"}


def _coverage(
    profile: DepartmentProfile | None, quarter: Quarter, sources: set[str]
) -> dict[str, tuple[date, date]]:
    start, end = quarter.start.date(), quarter.end.date()
    if profile is None:
        return {source: (start, end) for source in sorted(sources)}
    covered = {source: profile.coverage(source, start, end) for source in sorted(sources)}
    return {source: window for source, window in covered.items() if window is not None}


def prepare(
    shape: ReleaseShape,
    policy: Policy,
    internal: Engine,
    *,
    beside_count: bool = False,
    model: NoiseModel | None = None,
) -> tuple[list[TableMeasurement | None], PostProcessor]:
    """Each part's OpenDP measurement, built and its privacy map checked (a mismatch raises
    before anything is charged), and the release's post-processing, whose interval
    calibration is read from the internal store or simulated and kept there (``beside_count``:
    simulated in a forked child, while this process counts the records). ``model``, when
    given, is the noise model :func:`noise_model` started earlier; otherwise it is started
    once the measurements are built. A failure here ends a simulation started apart."""
    try:
        planned = [
            plan_measurement(p.part, policy.budget, p.sensitivity, len(p.keys))
            if p.part.measured
            else None
            for p in shape.parts
        ]
        model = model or noise_model(shape, policy, internal, simulate_apart=beside_count)
        processor = PostProcessor(shape.hierarchy, shape.parts, planned, model=model)
    except BaseException:
        if model is not None:
            model.half_widths.cancel()  # a child simulating apart is not left to run
        raise
    return planned, processor


def noise_model(
    shape: ReleaseShape, policy: Policy, internal: Engine, *, simulate_apart: bool = False
) -> NoiseModel:
    """The release's noise model: its estimator, and its intervals' calibration read from
    the internal store or simulated (``simulate_apart``: in a forked child started now). It
    needs the noise's scales only, not OpenDP's measurements."""
    noise = [
        planned_noise(p.part, policy.budget, p.sensitivity) if p.part.measured else None
        for p in shape.parts
    ]
    return NoiseModel(
        shape.hierarchy,
        noise,
        calibrations=StoredCalibrations(internal),
        simulate_apart=simulate_apart,
    )


def counted_parts(internal: Engine, shape: ReleaseShape, policy: Policy) -> list[PartCounts]:
    """The true counts of every part of the release (this reads the records), in the
    shape's parts."""
    counted = count_tables(internal, shape.tables, shape.quarter, policy.unit, shape.areas)
    parts: list[PartCounts] = []
    for table in counted:
        own = shape.parts[len(parts) : len(parts) + len(table.spec.parts())]
        if own[0].all_keys != table.keys:
            raise RuntimeError(f"table {table.spec.name} was counted over other keys")
        parts += with_counts(own, table.counts)
    return parts


def no_counts(spec: TableSpec, quarter: Quarter, areas: dict[str, tuple[str, ...]]) -> TableCounts:
    """A table's key set with zero counts: its shape, without the data."""
    keys = tuple(key_set(spec, quarter, areas))
    return TableCounts(spec, keys, (0,) * len(keys))
