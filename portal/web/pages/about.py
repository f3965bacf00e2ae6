"""The methodology page: what differential privacy means here, the unit, the budget spent
so far, what an interval means, what post-processing changes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing.catalog import Catalog

HTML = "text/html"


@dataclass(frozen=True)
class PeriodBudget:
    """What a quarter's releases have spent."""

    period: str
    releases: int
    rho: float
    cap: float
    epsilon: str


def budget_by_period(catalog: Catalog) -> list[PeriodBudget]:
    """Spent and available budget per quarter, from the releases' own statements."""
    rows = []
    for period in catalog.periods:
        statements = [r.budget_statement for r in catalog.releases if r.period == period]
        latest = statements[-1]
        rho = math.fsum(float(s["rho"]) for s in statements)
        epsilon = ", ".join(f"{float(s['epsilon']):.3g}" for s in statements)
        rows.append(
            PeriodBudget(
                period,
                len(statements),
                rho,
                float(latest["period_rho_cap"]),
                f"{epsilon} at {latest['delta']}",
            )
        )
    return rows


@get("/methodology", sync_to_thread=False)
def methodology(
    request: Request[Any, Any, Any],
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """How the numbers are made, in plain words."""

    def render(catalog: Catalog) -> CachedBody:
        latest = catalog.releases[-1].budget_statement if catalog.releases else {}
        unit = str(latest.get("unit", "one record (a stop, an incident or a use of force)"))
        short = "person" if unit.startswith("one person") else "stop, crime report or use of force"
        return CachedBody.of(
            site.renderer.page(
                "methodology.html",
                title="Methodology",
                active="/methodology",
                unit=unit,
                unit_short=short,
                budget=budget_by_period(catalog),
            ),
            HTML,
        )

    return site.cached("methodology", render).respond(request)
