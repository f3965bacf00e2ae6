"""A table's levels: the coarser counts it is also measured at, and how its cells nest.

A level's counts are sums of the table's own (already bounded) counts, so no second query
is needed. Each cell is given an *identity* that says which count of the world it is, so
that the same count measured by two tables is recognised as one: the stops of district 3
this quarter are a level of the race table, the outcome table and the reason table alike.

Two counts are the same only when they are certainly equal in truth:

* the records counted are the same (same source and filters; and for a person unit, the
  same table, because contributions are bounded per table);
* each dimension means the same: a district rolled up from beats (the district the beat
  belongs to) is kept apart from the district recorded on the stop, since the two can
  disagree in the data;
and the policy makes sure that such a count adds up into the same parent in every table.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from privacy import vocabulary as v
from privacy.release.aggregate import Key, Sensitivity, TableCounts, key_set, sensitivity
from privacy.release.periods import Quarter
from privacy.release.policy import AREA_DIMENSIONS, TIME_DIMENSIONS, PartSpec, PrivacyUnit
from publishing.profile import DepartmentProfile


@dataclass(frozen=True)
class PartCounts:
    """One measured table's true counts and where its cells fit. Internal only."""

    part: PartSpec
    keys: tuple[Key, ...]
    counts: tuple[int, ...]
    identities: tuple[Hashable, ...]
    nests: bool  # its cells are counts of its filtered records (record unit), see nesting
    up: int | None  # position, within its table's parts, of the level it adds up into
    up_cells: tuple[int, ...] | None  # the cell of that level each cell adds up into
    sensitivity: Sensitivity
    # The full key set, and where in it each measured cell lies: the cells left out are
    # structural zeros (a code the department profile says cannot occur), never measured.
    all_keys: tuple[Key, ...] = ()
    kept: tuple[int, ...] = ()
    # The cell of the level up that each cell of the full key set adds into.
    up_all: tuple[int, ...] | None = None

    @property
    def structural_keys(self) -> tuple[Key, ...]:
        """The cells published as "not recorded by this department", without noise."""
        kept = set(self.kept)
        return tuple(k for i, k in enumerate(self.all_keys) if i not in kept)


def measured_parts(
    counted: TableCounts,
    quarter: Quarter,
    unit: PrivacyUnit,
    areas: dict[str, tuple[str, ...]],
    beat_district: dict[str, str],
    profile: DepartmentProfile | None = None,
) -> list[PartCounts]:
    """The table's own cells and each of its levels, in order, with their true counts;
    cells whose code the department ``profile`` says cannot occur are left out (structural
    zeros), which depends on the declared profile only, never on a count."""
    table = counted.spec
    parts = table.parts()
    population: Hashable = table.population if unit.kind == "record" else ("table", table.name)
    meanings = table.meanings()
    keys = [tuple(counted.keys)] + [
        tuple(key_set(table, quarter, areas, p.dimensions)) for p in parts[1:]
    ]
    ups = [
        _up_cells(parts[i], keys[i], parts[i + 1], keys[i + 1], quarter, beat_district)
        for i in range(len(parts) - 1)
    ]
    counts = [np.asarray(counted.counts, dtype=np.int64)]
    for i, up in enumerate(ups):
        counts.append(
            np.bincount(up, weights=counts[i], minlength=len(keys[i + 1])).astype(np.int64)
        )
    leaf, level = sensitivity(unit), _level_sensitivity(unit)
    kept = [_kept(parts[i].dimensions, keys[i], table.source, profile) for i in range(len(parts))]
    result = []
    for i, part in enumerate(parts):
        positions = kept[i]
        up_cells = None
        if i < len(ups):
            compact = {full: index for index, full in enumerate(kept[i + 1])}
            # A structural cell's codes are its children's too: a kept cell's parent is kept.
            up_cells = tuple(compact[int(ups[i][p])] for p in positions)
        result.append(
            PartCounts(
                part=part,
                keys=tuple(keys[i][p] for p in positions),
                counts=tuple(int(counts[i][p]) for p in positions),
                identities=tuple((population, meanings[i], keys[i][p]) for p in positions),
                nests=unit.kind == "record",
                up=i + 1 if i < len(ups) else None,
                up_cells=up_cells,
                sensitivity=leaf if i == 0 else level,
                all_keys=keys[i],
                kept=positions,
                up_all=tuple(int(n) for n in ups[i]) if i < len(ups) else None,
            )
        )
    return result


def with_counts(parts: Sequence[PartCounts], counts: Sequence[int]) -> list[PartCounts]:
    """A table's parts as :func:`measured_parts` gives them (counted or not), counted anew:
    ``counts`` are the table's own, over its full key set, and each level's are summed from
    them. A release counts the parts of the shape it prepared, rather than working out its
    keys, levels and structural zeros a second time."""
    if len(counts) != len(parts[0].all_keys):
        raise ValueError("the counts must cover the table's full key set")
    full = np.asarray(counts, dtype=np.int64)
    result = []
    for at, part in enumerate(parts):
        result.append(replace(part, counts=tuple(int(full[p]) for p in part.kept)))
        if part.up_all is not None:
            full = np.bincount(
                part.up_all, weights=full, minlength=len(parts[at + 1].all_keys)
            ).astype(np.int64)
    return result


def _kept(
    dimensions: tuple[str, ...],
    keys: tuple[Key, ...],
    source: str,
    profile: DepartmentProfile | None,
) -> tuple[int, ...]:
    """The positions of the cells every code of which can occur."""
    if profile is None or source not in profile.sources:
        return tuple(range(len(keys)))
    recorded = profile.sources[source]
    coded = [
        (i, d) for i, d in enumerate(dimensions) if d not in (*TIME_DIMENSIONS, *AREA_DIMENSIONS)
    ]
    return tuple(
        n for n, key in enumerate(keys) if all(recorded.can_occur(d, key[i]) for i, d in coded)
    )


def _up_cells(
    part: PartSpec,
    keys: tuple[Key, ...],
    parent: PartSpec,
    parent_keys: tuple[Key, ...],
    quarter: Quarter,
    beat_district: dict[str, str],
) -> NDArray[np.int64]:
    index = {key: i for i, key in enumerate(parent_keys)}
    positions = {d: i for i, d in enumerate(part.dimensions)}

    def value(key: Key, dimension: str) -> str:
        if dimension in positions:
            return key[positions[dimension]]
        if dimension == "quarter":
            return str(quarter)
        beat = key[positions["beat"]]
        district = beat_district.get(beat, v.UNKNOWN)
        # A beat whose district is not declared rolls up into the unknown district.
        return district if district in parent_districts else v.UNKNOWN

    parent_districts = (
        {key[parent.dimensions.index("district")] for key in parent_keys}
        if "district" in parent.dimensions
        else set()
    )
    return np.asarray(
        [index[tuple(value(key, d) for d in parent.dimensions)] for key in keys], dtype=np.int64
    )


def _level_sensitivity(unit: PrivacyUnit) -> Sensitivity:
    """A coarser level: a record still moves one cell by one; a person's g cells may all
    fall into one coarser cell, so c * g in both norms."""
    if unit.kind == "record":
        return Sensitivity(1.0, 1.0)
    bound = float(unit.max_records_per_cell * unit.max_cells)
    return Sensitivity(bound, bound)
