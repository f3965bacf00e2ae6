"""``portal budget``: what each period's privacy budget is, what is left of it, and which
charges never became a release."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.release.ledger import horizon_budgets, period_budgets
from privacy.release.outcomes import charge_outcomes

CURRENCY_NAMES = {"rho": "zCDP rho", "epsilon": "pure-DP epsilon"}


def print_budget(settings: Settings, *, as_json: bool, console: Console) -> None:
    """Print cap, spent and remaining budget per period (each in its own currency), the
    person unit's horizons, and the charges whose release was never published."""
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        budgets = period_budgets(internal)
        horizons = horizon_budgets(internal)
        outcomes = charge_outcomes(internal, public)
    finally:
        internal.dispose()
        public.dispose()
    lost = [o for o in outcomes if o.lost]
    if as_json:
        print(
            json.dumps(
                {
                    "periods": [
                        {
                            "period": b.period,
                            "unit": b.unit_kind,
                            "currency": b.currency,
                            "cap": b.cap,
                            "spent": b.spent,
                            "remaining": b.remaining,
                            "charges": b.charges,
                            "releases": sum(o.period == b.period for o in outcomes),
                            "unpublished": [o.release_key for o in lost if o.period == b.period],
                        }
                        for b in budgets
                    ],
                    "horizons": [
                        {
                            "horizon": h.horizon,
                            "currency": h.currency,
                            "cap": h.cap,
                            "spent": h.spent,
                            "remaining": h.remaining,
                            "charges": h.charges,
                        }
                        for h in horizons
                    ],
                },
                indent=2,
            )
        )
        return
    if not budgets:
        console.print("No budget has been spent yet: no release has been built.")
        return
    table = Table(
        "period",
        "unit",
        "counted in",
        "cap",
        "spent",
        "remaining",
        "releases",
        "charged, not published",
        title="Privacy budget per period (each in its policy's currency)",
    )
    for b in budgets:
        charged = sum(o.period == b.period for o in outcomes)
        missing = sum(o.period == b.period for o in lost)
        table.add_row(
            b.period,
            b.unit_kind,
            CURRENCY_NAMES[b.currency],
            f"{b.cap:.4g}",
            f"{b.spent:.4g}",
            f"{b.remaining:.4g}",
            str(charged),
            str(missing) if missing else "",
        )
    console.print(table)
    for h in horizons:
        console.print(
            f"Person unit, horizon {h.horizon}: {CURRENCY_NAMES[h.currency]} {h.spent:.4g} "
            f"spent of {h.cap:.4g} ({h.remaining:.4g} left) over every release in it.",
            highlight=False,
        )
    for o in lost:
        console.print(
            f"[yellow]charged, not published:[/] release key {o.release_key[:12]} charged "
            f"{o.period} at {o.charged_at:%Y-%m-%d %H:%M} UTC, and no release reached the "
            "public store (the process stopped between the charge and the publication). "
            "Its budget stays spent.",
            highlight=False,
        )
