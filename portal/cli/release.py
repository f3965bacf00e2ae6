"""``portal release build``, ``portal release plan`` and ``portal release list``."""

from __future__ import annotations

import json
from datetime import UTC

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from publishing.models import Release, ReleaseTable

# The release engine (and with it OpenDP, NumPy and SciPy) is imported by the commands
# that build or plan a release, not by `portal release list`.


def run_build(
    settings: Settings,
    period: str,
    policy_name: str,
    *,
    rerelease: bool,
    console: Console,
    report: bool = True,
) -> int:
    """Build one release and (with ``report``) its reports; print what was published or
    why not; return the exit code."""
    from privacy.release.build import ReleaseRefused, build_release
    from privacy.release.ledger import ChargeRefused
    from privacy.release.periods import PeriodError
    from privacy.release.policy import PolicyError, load_policy

    err = Console(stderr=True, soft_wrap=True)
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        policy = load_policy(policy_name)
        built = build_release(internal, public, period, policy, rerelease=rerelease)
    except (PolicyError, PeriodError, ReleaseRefused, ChargeRefused) as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        return EXIT_REFUSED
    finally:
        internal.dispose()
        public.dispose()
    console.print(
        f"[green]✓[/] released {built.period} as {built.release_id[:12]}: "
        f"{built.tables} tables, {built.cells:,} cells, rho {built.rho:.4g}",
        highlight=False,
    )
    if not report:
        console.print(
            f"its reports: `portal report build --period {built.period}`", highlight=False
        )
        return 0
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
            "created_at": r[4].replace(tzinfo=UTC).isoformat(),  # stored as naive UTC
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
    from privacy.release.build import ReleaseRefused
    from privacy.release.periods import PeriodError
    from privacy.release.plan import plan_release
    from privacy.release.policy import PolicyError, load_policy

    err = Console(stderr=True, soft_wrap=True)
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        policy = load_policy(policy_name)
        plan = plan_release(internal, public, period, policy)
    except (PolicyError, PeriodError, ReleaseRefused) as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        return EXIT_REFUSED
    finally:
        internal.dispose()
        public.dispose()
    budget = plan.budget
    if as_json:
        print(
            json.dumps(
                {
                    **{
                        k: getattr(plan, k)
                        for k in (
                            "period",
                            "policy_name",
                            "unit",
                            "currency",
                            "spend",
                            "rho",
                            "epsilon",
                            "delta",
                            "fits",
                            "refusal",
                        )
                    },
                    "period_currency": budget.currency,
                    "cap": budget.cap,
                    "spent": budget.spent,
                    "remaining": budget.remaining,
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
    for name in ("cells", "noise scale", plan.currency, "95% ± (median)"):
        table.add_column(name, justify="right")
    for t in plan.tables:
        table.add_row(
            ("  " if t.level_of else "") + t.name,
            f"{t.cells:,}",
            f"{t.noise_scale:.3g}",
            f"{t.spend:.4g}",
            f"{t.half_width:.3g}",
        )
    console.print(table)
    guarantee = (
        f"({plan.epsilon:.3g}, {plan.delta:g})"
        if plan.currency == "rho"
        else f"({plan.epsilon:.3g}, 0)"
    )
    console.print(
        f"It would spend {plan.currency} {plan.spend:.4g} of {plan.period}'s "
        f"{budget.currency} {budget.remaining:.4g} left of {budget.cap:.4g}: "
        f"{guarantee}-differential privacy for {plan.unit}.",
        highlight=False,
    )
    if plan.horizon is not None:
        h = plan.horizon
        console.print(
            f"The person unit's horizon {h.horizon} has {h.currency} {h.remaining:.4g} "
            f"left of {h.cap:.4g}.",
            highlight=False,
        )
    if plan.fits:
        console.print("[green]The ledger would accept it.[/]")
    else:
        console.print(f"[red]The ledger would refuse it:[/] {plan.refusal}", highlight=False)
    return 0
