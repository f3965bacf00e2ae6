"""``portal release build``, ``portal release plan`` and ``portal release list``."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from portal.cli.ingest import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.ledger import BudgetExceeded
from privacy.release.periods import PeriodError
from privacy.release.policy import PolicyError, load_policy
from publishing.models import Release, ReleaseTable


def run_build(
    settings: Settings, period: str, policy_name: str, *, rerelease: bool, console: Console
) -> int:
    """Build one release; print what was published or why not; return the exit code."""
    err = Console(stderr=True, soft_wrap=True)
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        policy = load_policy(policy_name)
        built = build_release(internal, public, period, policy, rerelease=rerelease)
    except (PolicyError, PeriodError, ReleaseRefused, BudgetExceeded) as refused:
        err.print(f"[red]refused:[/] {refused}", highlight=False)
        return EXIT_REFUSED
    finally:
        internal.dispose()
        public.dispose()
    console.print(
        f"[green]✓[/] released {built.period} as {built.release_id[:12]}: "
        f"{built.tables} tables, {built.cells:,} cells, rho {built.rho:.4g}",
        highlight=False,
    )
    # A release's report is built with it; a failure here leaves the release published.
    from portal.cli.report import run_report

    if run_report(settings, built.period, None, console=console):
        err.print(
            f"the release is published; build its report later with `portal report "
            f"build --period {built.period}`",
            highlight=False,
        )
    return 0


def print_releases(settings: Settings, *, as_json: bool, console: Console) -> None:
    """The releases in the public store, newest period first."""
    public = public_engine(settings)
    query = (
        select(
            Release.id,
            Release.period,
            Release.policy_name,
            Release.budget_statement,
            Release.created_at,
            func.count(ReleaseTable.name),
        )
        .join(ReleaseTable, ReleaseTable.release_id == Release.id)
        .group_by(Release.id)
        .order_by(Release.period.desc(), Release.created_at.desc())
    )
    try:
        with public.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        public.dispose()
    listed = [
        {
            "id": r[0],
            "period": r[1],
            "policy": r[2],
            "rho": json.loads(r[3])["rho"],
            "epsilon": json.loads(r[3])["epsilon"],
            "delta": json.loads(r[3])["delta"],
            "created_at": r[4].isoformat(),
            "tables": r[5],
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(listed, indent=2))
        return
    if not listed:
        console.print("No releases yet: build one with `portal release build --period 2025Q3`.")
        return
    table = Table(
        "period", "release", "policy", "tables", "rho", "(epsilon, delta)", title="Releases"
    )
    for r in listed:
        table.add_row(
            r["period"],
            r["id"][:12],
            r["policy"],
            str(r["tables"]),
            f"{r['rho']:.4g}",
            f"({r['epsilon']:.3g}, {r['delta']:g})",
        )
    console.print(table)


def print_plan(
    settings: Settings, period: str, policy_name: str, *, as_json: bool, console: Console
) -> int:
    """Print what a release would publish, spend and how precise it would be; return the
    exit code. Reads no record and spends nothing."""
    from privacy.release.plan import plan_release

    err = Console(stderr=True, soft_wrap=True)
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        policy = load_policy(policy_name)
        plan = plan_release(internal, public, period, policy)
    except (PolicyError, PeriodError, ReleaseRefused) as refused:
        err.print(f"[red]refused:[/] {refused}", highlight=False)
        return EXIT_REFUSED
    finally:
        internal.dispose()
        public.dispose()
    if as_json:
        budget = plan.budget
        print(
            json.dumps(
                {
                    **{
                        k: getattr(plan, k)
                        for k in (
                            "period",
                            "policy_name",
                            "unit",
                            "rho",
                            "epsilon",
                            "delta",
                            "fits",
                        )
                    },
                    "rho_cap": budget.rho_cap,
                    "rho_spent": budget.rho_spent,
                    "rho_remaining": budget.rho_remaining,
                    "tables": [vars(t) for t in plan.tables],
                },
                indent=2,
            )
        )
        return 0
    table = Table(
        title=f"Plan of the {plan.period} release ({plan.policy_name}): no record "
        "read, nothing spent"
    )
    table.add_column("table (and its levels)", no_wrap=True)
    for name in ("cells", "noise scale", "rho", "95% ± (median)"):
        table.add_column(name, justify="right")
    for t in plan.tables:
        table.add_row(
            ("  " if t.level_of else "") + t.name,
            f"{t.cells:,}",
            f"{t.noise_scale:.3g}",
            f"{t.rho:.4g}",
            f"{t.half_width:.3g}",
        )
    console.print(table)
    verdict = (
        "[green]fits[/]"
        if plan.fits
        else "[red]would be refused[/]: lower the policy's budget.rho or release fewer tables"
    )
    console.print(
        f"It would spend rho {plan.rho:.4g}, that is ({plan.epsilon:.3g}, "
        f"{plan.delta:g})-differential privacy for {plan.unit}; {plan.period} has "
        f"rho {plan.budget.rho_remaining:.4g} of {plan.budget.rho_cap:.4g} left: "
        f"{verdict}.",
        highlight=False,
    )
    return 0
