"""Nested tables: a count of filtered records never exceeds the count it is part of.

Searches are stops that were searched, hits searches that found something, stops with no
action stops; each is measured as a table of its own. Their published integers must not
say that a district had more searches of a group than stops of it. Under the record unit a
filtered table's cell is part of the cell with the same meaning and key of the table with
the next wider filter (searches of black residents in district 3 are part of stops of
black residents in district 3), so the wider table is rounded first and its integers cap
the narrower one's (:meth:`privacy.release.hierarchy.Estimator.integers`). The least-squares
estimates, from which every derived figure is computed, are not touched.

Under a person unit each table bounds a person's contributions on its own, so a filtered
table's bounded count may exceed the wider one's: nothing is capped.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from privacy.release.hierarchy import Hierarchy
from privacy.release.parts import PartCounts

Ints = NDArray[np.int64]
Population = tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]


def contains(wider: Population, narrower: Population) -> bool:
    """Whether every record of ``narrower`` is a record of ``wider`` (same source, and each
    of ``wider``'s filters implied by one of ``narrower``'s)."""
    if wider[0] != narrower[0] or wider == narrower:
        return False
    filters = dict(narrower[1])
    return all(field in filters and set(filters[field]) <= set(codes) for field, codes in wider[1])


def nesting(parts: Sequence[PartCounts], hierarchy: Hierarchy) -> tuple[Ints, Ints]:
    """For every node: the node that caps it (or -1), and its rank (how many populations
    of the release contain its own), so that rounding by rank rounds every cap first."""
    caps = np.full(hierarchy.size, -1, dtype=np.int64)
    ranks = np.zeros(hierarchy.size, dtype=np.int64)
    nested = [p for p in parts if p.nests]
    populations = {p.part.table.population for p in nested}
    node_of: dict[Hashable, int] = {}
    for part, cells in zip(parts, hierarchy.cells, strict=True):
        node_of.update(zip(part.identities, (int(c) for c in cells), strict=True))
    for part, cells in zip(parts, hierarchy.cells, strict=True):
        if not part.nests:
            continue
        own = part.part.table.population
        wider = [q for q in populations if contains(q, own)]
        ranks[cells] = len(wider)
        if not wider:
            continue
        # The closest wider population: the one with the most filters of its own.
        cap_population = max(wider, key=lambda q: (len(q[1]), repr(q)))
        for identity, node in zip(part.identities, cells, strict=True):
            assert isinstance(identity, tuple)  # (population, meaning, key): see parts
            cap = node_of.get((cap_population, *identity[1:]))
            if cap is not None:
                caps[node] = cap
    return caps, ranks
