"""``portal audit``: an empirical privacy audit of a policy's tables, kept in the public
store for the methodology page.

The audit runs the engine's own counting and OpenDP measurements on two synthetic data sets
one unit apart, in a scratch store (never the department's records), and bounds from below
the epsilon the engine really spends (:mod:`privacy.release.audit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import public_engine
from privacy.release.audit import AuditError, AuditResult
from privacy.release.audit_scratch import audit_on_scratch
from privacy.release.policy import Policy, PolicyError, load_policy
from privacy.store.audit import utc_now
from publishing.audits import AuditInfo, write_audit


def run_audit(
    settings: Settings,
    policy_name: str,
    tables: Sequence[str],
    trials: int,
    confidence: float,
    *,
    console: Console,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Audit ``tables`` of the policy (all of them when empty), store each result in the
    public store, print them; return the exit code."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        policy = load_policy(policy_name)
        chosen = [policy.table(name).name for name in tables] or [t.name for t in policy.tables]
        results = []
        for done, table in enumerate(chosen):
            results.append(audit_on_scratch(policy, table, trials, confidence))
            if progress is not None:
                progress(done + 1, len(chosen))
    except (PolicyError, AuditError) as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        return EXIT_REFUSED
    public = public_engine(settings)
    try:
        for result in results:
            write_audit(public, audit_info(policy, result))
    finally:
        public.dispose()
    print_results(policy, results, console)
    return 0


def audit_info(policy: Policy, result: AuditResult) -> AuditInfo:
    """An audit's result in its public form."""
    return AuditInfo(
        policy.name,
        policy.sha256,
        result.table,
        result.unit,
        result.mechanism,
        result.trials,
        result.confidence,
        result.delta,
        result.claimed_epsilon,
        result.release_epsilon,
        result.epsilon_lb,
        utc_now(),
    )


def print_results(policy: Policy, results: Sequence[AuditResult], console: Console) -> None:
    """One line per table: the claim and the empirical lower bound."""
    table = Table(
        "outputs per side",
        "claimed epsilon",
        "empirical lower bound",
        "share of the claim",
        title=f"Empirical privacy audit of the {policy.name} policy (kept in the public store)",
    )
    table.add_column("table", no_wrap=True)
    for r in results:
        table.add_row(
            f"{r.trials:,}",
            f"{r.claimed_epsilon:.3g}",
            f"{r.epsilon_lb:.3g} ({r.confidence:.0%})",
            f"{r.ratio:.2f}",
            r.table,
        )
    console.print(table)
    over = [r.table for r in results if r.epsilon_lb > r.claimed_epsilon]
    if over:
        console.print(
            f"[red]The audit found more privacy loss than claimed in: {', '.join(over)}.[/] "
            "The engine does not keep its promise for these tables: do not release them.",
            highlight=False,
        )
