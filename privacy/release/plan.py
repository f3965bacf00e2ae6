"""A release's plan: what it would cost and how precise it would be, before it is built.

``portal release plan --period 2025Q3`` reads no record and spends nothing. It builds the
release's OpenDP measurements (so their privacy maps are checked), reads the period's
budget from the ledger, and works out each table's 95% interval half-width from the noise
alone. That is the same calibration a release uses, and it is kept in the internal store,
so the release that follows need not simulate it again.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import Engine

from privacy.release.accounting import release_privacy
from privacy.release.build import charge_request, parallel_sources
from privacy.release.ledger import HorizonBudget, PeriodBudget, preview_charge
from privacy.release.periods import Quarter
from privacy.release.policy import Policy
from privacy.release.shape import prepare, release_shape


@dataclass(frozen=True)
class PlannedTable:
    """One table (or level) a release would publish, its noise and its typical precision:
    ``half_width`` is the median over its cells of the 95% interval's half-width (before
    an interval is cut at zero)."""

    name: str
    level_of: str | None
    cells: int
    mechanism: str
    sensitivity: float
    noise_scale: float
    rho: float
    spend: float  # in the policy's currency: rho (zCDP) or epsilon (pure DP)
    half_width: float


@dataclass(frozen=True)
class ReleasePlan:
    """What a release of ``period`` under ``policy`` would publish and spend."""

    period: str
    policy_name: str
    unit: str
    tables: tuple[PlannedTable, ...]
    rho: float
    epsilon: float
    delta: float
    currency: str  # what the policy counts in: rho (zCDP) or epsilon (pure DP)
    spend: float  # what the release would spend, in the period's currency
    budget: PeriodBudget  # the period's, before this release
    horizon: HorizonBudget | None  # a person unit's horizon, before this release
    refusal: str | None  # why the ledger would refuse it now, or None

    @property
    def fits(self) -> bool:
        """Whether the ledger would accept the release (the same tests it applies)."""
        return self.refusal is None


def plan_release(internal: Engine, public: Engine, period: str, policy: Policy) -> ReleasePlan:
    """The plan of ``policy``'s release of ``period``; reads areas and the ledger only."""
    quarter = Quarter.parse(period)
    shape = release_shape(public, quarter, policy)
    planned, processor = prepare(shape, policy, internal)
    tables = []
    for part, plan, cells in zip(shape.parts, planned, shape.hierarchy.cells, strict=True):
        if plan is None:
            continue  # a level another table measures
        spec, charge = part.part, plan.charge
        tables.append(
            PlannedTable(
                name=spec.name,
                level_of=spec.table.name if spec.depth else None,
                cells=len(part.keys),
                mechanism=charge.mechanism,
                sensitivity=charge.sensitivity,
                noise_scale=charge.noise_scale,
                rho=charge.rho,
                spend=charge.epsilon if charge.epsilon is not None else charge.rho,
                half_width=float(statistics.median(processor.half[cells].tolist())),
            )
        )
    charges = [p.charge for p in planned if p is not None]
    rho, epsilon, delta = release_privacy(
        policy.budget.mechanism,
        policy.budget.delta,
        [c.rho for c in charges],
        [c.epsilon_shown for c in charges],
        parallel_sources(policy, charges),
    )
    # A period's cap is fixed by its first release; before that it is the policy's.
    request = charge_request(
        policy, quarter, [p for p in planned if p is not None], "planned", False, None
    )
    preview = preview_charge(internal, request)
    return ReleasePlan(
        str(quarter),
        policy.name,
        policy.unit.describe(),
        tuple(tables),
        rho,
        epsilon,
        delta,
        policy.budget.currency,
        # What the period's spend would grow by: under the record unit each source spends
        # in parallel, so the busiest source's share, not the sum of all tables.
        preview.period.after(request.by_source(preview.period.currency), 0).spent
        - preview.period.spent,
        preview.period,
        preview.horizon,
        str(preview.refusal) if preview.refusal is not None else None,
    )
