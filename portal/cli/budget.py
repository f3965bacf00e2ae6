"""``portal budget``: what each period's privacy budget is, and what is left of it."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from portal.settings import Settings
from portal.stores import internal_engine
from privacy.release.ledger import period_budgets


def print_budget(settings: Settings, *, as_json: bool, console: Console) -> None:
    """Print cap, spent and remaining rho per period, as a table or as JSON."""
    engine = internal_engine(settings)
    try:
        budgets = period_budgets(engine)
    finally:
        engine.dispose()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "period": b.period,
                        "rho_cap": b.rho_cap,
                        "rho_spent": b.rho_spent,
                        "rho_remaining": b.rho_remaining,
                        "charges": b.charges,
                    }
                    for b in budgets
                ],
                indent=2,
            )
        )
        return
    if not budgets:
        console.print("No budget has been spent yet: no release has been built.")
        return
    table = Table(
        "period",
        "cap (rho)",
        "spent",
        "remaining",
        "charges",
        title="Privacy budget (zCDP rho) per period",
    )
    for b in budgets:
        table.add_row(
            b.period,
            f"{b.rho_cap:.4g}",
            f"{b.rho_spent:.4g}",
            f"{b.rho_remaining:.4g}",
            str(b.charges),
        )
    console.print(table)
