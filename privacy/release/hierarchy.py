"""Consistent tables by weighted least squares over the release's hierarchy of counts.

Every measured table (a policy table's own cells, and each of its coarser levels) is a set
of noisy counts of *nodes*. A node is one count of the world: "stops in district 3 in
2025Q3". The same node may be measured by several tables (the stops of a district are a
level of the race table, of the outcome table and of the reason table), and every node
except a root is one of a *group* of children that add up to their parent (the beats of a
district, the races within a district). A node may have several groups (each table that
splits it), but belongs to only one.

On that structure the weighted least-squares estimate (the same as the posterior mean
under a flat prior, with independent Gaussian errors) is found exactly in two passes, as
in a Kalman smoother:

* upward, each node's estimate from the measurements in its own subtree, ``z``, with
  variance ``u``: its own measurements combined, by inverse variance, with the sum of each
  group's children;
* downward, each node's final estimate ``x``: a child takes its subtree estimate plus its
  share, ``u_c / U_g``, of the gap between its parent's final estimate and the sum of its
  group, ``x_c = z_c + (u_c / U_g) (x_p - S_g)``. The variance follows the same way:
  ``P_c = u_c - u_c^2 / U_g + (u_c / U_g)^2 P_p``.

The estimate is linear in the measurements and unbiased, and every group adds up exactly to
its parent. Both passes are vectorised over a trailing axis of draws, so simulating the
error distribution (for intervals) costs no more than one release per column.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from privacy.release.consistency import round_with_total, round_with_total_capped

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class PartShape:
    """One measured table as the hierarchy sees it.

    ``identities`` name each cell's node (equal identities are the same count of the same
    records); ``parent`` is the position in ``parts`` of the next level up, or None, and
    ``parent_cells`` the cell of that level each cell adds up into.
    """

    identities: Sequence[Hashable]
    parent: int | None = None
    parent_cells: Sequence[int] | None = None


class Hierarchy:
    """The nodes and groups of a release, numbered so that the two passes are vectorised:
    nodes in breadth-first order (so each depth is one contiguous block), and each group's
    children contiguous."""

    def __init__(self, parts: Sequence[PartShape]) -> None:
        ids: dict[Hashable, int] = {}
        cells = [[ids.setdefault(i, len(ids)) for i in part.identities] for part in parts]
        n = len(ids)
        member: list[int] = [-1] * n  # a node's group
        group_ids: dict[tuple[int, int], int] = {}  # (parent node, child part kind) -> group
        group_parent: list[int] = []
        for index, part in enumerate(parts):
            if part.parent is None:
                continue
            assert part.parent_cells is not None
            parents = cells[part.parent]
            for node, up in zip(cells[index], part.parent_cells, strict=True):
                parent = parents[up]
                # A group is one table's split of its parent.
                group = group_ids.setdefault((parent, index), len(group_ids))
                if group == len(group_parent):
                    group_parent.append(parent)
                if member[node] == -1:
                    member[node] = group
                elif group_parent[member[node]] != parent:
                    raise ValueError("a count cannot add up into two different parents")
                # A node met again through another table that splits the same parent the
                # same way stays in the group it is in; that table's group stays empty.
        children: list[list[int]] = [[] for _ in group_parent]
        for node in range(n):
            if member[node] != -1:
                children[member[node]].append(node)
        groups_of: list[list[int]] = [[] for _ in range(n)]
        for group, parent in enumerate(group_parent):
            if children[group]:
                groups_of[parent].append(group)

        # Breadth-first numbering: roots, then each node's groups' children in turn.
        order = [node for node in range(n) if member[node] == -1]
        depth = [0] * len(order)
        group_order: list[int] = []
        cursor = 0
        while cursor < len(order):
            node = order[cursor]
            for group in groups_of[node]:
                group_order.append(group)
                order.extend(children[group])
                depth.extend([depth[cursor] + 1] * len(children[group]))
            cursor += 1
        position = np.empty(n, dtype=np.int64)
        position[np.asarray(order, dtype=np.int64)] = np.arange(n)
        self.size = n
        self.depth = np.asarray(depth, dtype=np.int64)
        self.max_depth = int(self.depth.max()) if n else 0
        self.cells = [position[np.asarray(c, dtype=np.int64)] for c in cells]
        self.group_parent = position[
            np.asarray([group_parent[g] for g in group_order], dtype=np.int64)
        ]
        sizes = np.asarray([len(children[g]) for g in group_order], dtype=np.int64)
        roots = int(np.sum(self.depth == 0))
        self.group_start = roots + np.cumsum(sizes) - sizes
        self.group_stop = self.group_start + sizes
        self.child_group = np.full(n, -1, dtype=np.int64)
        for g, (start, stop) in enumerate(zip(self.group_start, self.group_stop, strict=True)):
            self.child_group[start:stop] = g
        bounds = np.searchsorted(self.depth, np.arange(self.max_depth + 2))
        self.depth_block = [
            slice(int(bounds[d]), int(bounds[d + 1])) for d in range(self.max_depth + 1)
        ]
        parent_depth = self.depth[self.group_parent]
        gb = np.searchsorted(parent_depth, np.arange(self.max_depth + 1))
        self.group_block = [slice(int(gb[d]), int(gb[d + 1])) for d in range(self.max_depth)]


class Estimator:
    """The least-squares estimate over a :class:`Hierarchy`, for measurements of known
    variance per part. What does not depend on the measured values (variances, weights) is
    worked out once, so that many draws are cheap."""

    def __init__(self, hierarchy: Hierarchy, variances: Sequence[float]) -> None:
        h = self.hierarchy = hierarchy
        if len(variances) != len(h.cells):
            raise ValueError("one variance per part is needed")
        self.weights = [1.0 / v for v in variances]
        precision = np.zeros(h.size)
        for cells, weight in zip(h.cells, self.weights, strict=True):
            precision[cells] += weight
        u = np.zeros(h.size)
        self.group_u = np.zeros(len(h.group_parent))
        for d in range(h.max_depth, -1, -1):
            if d < h.max_depth:
                gs = h.group_block[d]
                child = h.depth_block[d + 1]
                starts = h.group_start[gs] - child.start
                self.group_u[gs] = np.add.reduceat(u[child], starts)
                _add_by_parent(precision, h.group_parent[gs], 1.0 / self.group_u[gs])
            block = h.depth_block[d]
            if np.any(precision[block] <= 0):
                raise ValueError("every count must be measured or add up from measured ones")
            u[block] = 1.0 / precision[block]
        self.u = u
        # Final variances, top down.
        variance = u.copy()
        self.share = np.zeros(h.size)  # u_c / U_g
        for d in range(h.max_depth):
            child = h.depth_block[d + 1]
            group = h.child_group[child]
            share = u[child] / self.group_u[group]
            self.share[child] = share
            parent = h.group_parent[group]
            variance[child] = u[child] - u[child] * share + share * share * variance[parent]
        self.variance = variance

    @overload
    def estimate(
        self, measured: Sequence[NDArray[np.floating[Any]] | NDArray[np.int64]]
    ) -> Floats: ...

    @overload
    def estimate(
        self, measured: Sequence[NDArray[np.floating[Any]] | NDArray[np.int64]], work: Workspace
    ) -> NDArray[np.floating[Any]]: ...

    def estimate(
        self,
        measured: Sequence[NDArray[np.floating[Any]] | NDArray[np.int64]],
        work: Workspace | None = None,
    ) -> NDArray[np.floating[Any]]:
        """The consistent estimate of every node from each part's measured values (each of
        shape ``(cells,)`` or ``(cells, draws)``), in double precision, or in ``work``'s
        buffers and float type (the returned array is one of them)."""
        h = self.hierarchy
        if work is None:
            work = Workspace(self, np.shape(measured[0])[1:], np.float64)
        info, z, sums = work.info, work.z, work.sums
        info.fill(0.0)
        for cells, weight, values in zip(h.cells, work.weights, measured, strict=True):
            info[cells] += weight * np.asarray(values, dtype=info.dtype)
        for d in range(h.max_depth, -1, -1):
            if d < h.max_depth:
                gs = h.group_block[d]
                child = h.depth_block[d + 1]
                starts = h.group_start[gs] - child.start
                np.add.reduceat(z[child], starts, axis=0, out=sums[gs])
                _add_by_parent(info, h.group_parent[gs], sums[gs] / work.group_u[gs])
            block = h.depth_block[d]
            np.multiply(info[block], work.u[block], out=z[block])
        x = z  # refined in place, top down: a node's own z is read before it is replaced
        for d in range(h.max_depth):
            child = h.depth_block[d + 1]
            group = h.child_group[child]
            x[child] += work.share[child] * (x[h.group_parent[group]] - sums[group])
        return x

    def integers(
        self, estimate: Floats, caps: Ints | None = None, ranks: Ints | None = None
    ) -> Ints:
        """Non-negative integers, top down: each root rounded, then each group made to add
        up exactly to its parent's integer (closest non-negative values, largest
        remainders). Every table that splits a node therefore agrees on it.

        ``caps`` names, for each node, a node whose integer it may not exceed (-1 for
        none), and ``ranks`` orders the rounding so that every cap is rounded before the
        nodes it caps (see :mod:`privacy.release.nesting`)."""
        h = self.hierarchy
        published = np.zeros(h.size, dtype=np.int64)
        caps = np.full(h.size, -1, dtype=np.int64) if caps is None else caps
        ranks = np.zeros(h.size, dtype=np.int64) if ranks is None else ranks
        roots = range(h.depth_block[0].start, h.depth_block[0].stop)
        steps = [(int(ranks[r]), 0, -1, r) for r in roots] + [
            (int(ranks[p]), int(h.depth[p]) + 1, g, int(p)) for g, p in enumerate(h.group_parent)
        ]
        for _, _, group, node in sorted(steps):
            if group == -1:  # a root
                value = max(int(np.rint(estimate[node])), 0)
                if caps[node] >= 0:
                    value = min(value, int(published[caps[node]]))
                published[node] = value
                continue
            start, stop = int(h.group_start[group]), int(h.group_stop[group])
            total = int(published[node])
            limits = caps[start:stop]
            if (limits < 0).all():
                published[start:stop] = round_with_total(estimate[start:stop], total)
                continue
            bounds = np.where(limits >= 0, published[np.maximum(limits, 0)], total)
            if total <= int(bounds.sum()):
                published[start:stop] = round_with_total_capped(estimate[start:stop], total, bounds)
            else:  # the caps' own table splits its parent otherwise: they cannot all hold
                published[start:stop] = round_with_total(estimate[start:stop], total)
        return published


class Workspace:
    """What :meth:`Estimator.estimate` works in, for measurements of one trailing shape
    (``()`` for one release, ``(draws,)`` for a batch of simulated ones) and one float type:
    its buffers, and the estimator's constants in that type, shaped to broadcast. The
    intervals' simulation estimates batch after batch in the same workspace, and in single
    precision: allocating each batch's arrays afresh, in double precision, was about half
    of its time."""

    def __init__(
        self, estimator: Estimator, trailing: tuple[int, ...], dtype: type[np.floating[Any]]
    ) -> None:
        h = estimator.hierarchy
        column = (-1, *([1] * len(trailing)))
        self.info = np.zeros((h.size, *trailing), dtype=dtype)
        self.z = np.zeros((h.size, *trailing), dtype=dtype)
        self.sums = np.zeros((len(h.group_parent), *trailing), dtype=dtype)
        self.weights = [dtype(w) for w in estimator.weights]
        self.u = estimator.u.astype(dtype).reshape(column)
        self.group_u = estimator.group_u.astype(dtype).reshape(column)
        self.share = estimator.share.astype(dtype).reshape(column)


def _add_by_parent(target: Floats, parents: Ints, values: Floats) -> None:
    """``target[parents] += values`` where ``parents`` is sorted and may repeat."""
    if len(parents) == 0:
        return
    starts = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
    target[parents[starts]] += np.add.reduceat(values, starts, axis=0)
