"""Empirical privacy audit of the release engine (see ``privacy/release/audit.py``).

    .venv/bin/python bench/audit.py [--trials 10000] [--confidence 0.95]
                                    [--table stops_by_month_beat]

Audits one table of the default policy (``privacy/policies/quarterly.toml``, with its
levels) in three cases: the policy as shipped (record unit, discrete Gaussian under zCDP),
the same tables with a person unit (at most 2 records in a cell and 3 cells of a table
per person), and the same tables under pure DP (discrete Laplace). Each case runs at the
policy's own budget (rho = 0.5 a quarter; epsilon = 1.0 for pure DP, the same rho) and at
a larger one where the audit has power (rho = 10; epsilon = 10), each on an empty SQLite
store of its own. Per case it prints the outputs drawn per side, the claimed epsilon of
the table (its charge, composed over its levels) and of the whole release, the empirical
lower bound at the stated confidence (and each direction's), and the bound's share of the
table's claim.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from privacy.release.audit_scratch import QUARTER, audit_on_scratch  # noqa: E402
from privacy.release.policy import SHIPPED_DIR, Policy, parse_policy  # noqa: E402

RECORD = 'kind = "record"'
PERSON = 'kind = "person"\nmax_records_per_cell = 2\nmax_cells = 3'
CASES = [
    ("record unit, Gaussian", RECORD, "gaussian", ("rho = 0.5", "rho = 10")),
    ("person unit, Gaussian", PERSON, "gaussian", ("rho = 0.5", "rho = 10")),
    ("record unit, Laplace", RECORD, "laplace", ("epsilon = 1.0", "epsilon = 10")),
]


def variant(text: str, unit: str, mechanism: str, budget: str) -> Policy:
    """The shipped policy's tables and weights with another unit and budget."""
    delta = re.search(r"^delta = .*$", text, re.M)
    assert delta is not None
    horizon = ""
    if "person" in unit:  # a person unit caps a horizon too; the audit is of one quarter
        currency = "rho" if mechanism == "gaussian" else "epsilon"
        value = float(budget.split("=")[1])
        horizon = f'horizon = "portal"\nhorizon_{currency} = {4 * value:g}\n'
    budget_block = f'[budget]\nmechanism = "{mechanism}"\n{budget}\n{delta[0]}\n{horizon}\n'
    text = re.sub(r"^\[unit\]\n.*?\n\n", f"[unit]\n{unit}\n\n", text, count=1, flags=re.M | re.S)
    text = re.sub(r"^\[budget\]\n.*?\n\n", budget_block, text, count=1, flags=re.M | re.S)
    return parse_policy(text, origin="quarterly (audit variant)")


def main() -> None:
    """Run every case and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000, help="outputs drawn per side")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--table", default="stops_by_month_beat")
    args = parser.parse_args()
    text = (SHIPPED_DIR / "quarterly.toml").read_text(encoding="utf-8")
    quarter = QUARTER
    shipped = parse_policy(text)
    parts = [p.name for p in shipped.table(args.table).parts() if p.measured]
    print(
        f"# empirical privacy audit of {args.table} of the quarterly policy (weight "
        f"{shipped.table(args.table).weight:g}; measured: {', '.join(parts)}), {quarter}\n"
        f"# {args.trials:,} outputs per side; thresholds chosen on the first half, bounded "
        f"on the second; {args.confidence:.0%} confidence (one-sided Clopper-Pearson)\n"
        "# eps_lb: the larger of D' high (the test rejects D when the statistic is high) and "
        "D high (it rejects D' when the statistic is low); lb/claim: eps_lb / claim tbl"
    )
    neighbour_high = "D' high"
    print(
        f"{'case':<24}{'budget':<15}{'trials':>8}{'delta':>8}{'claim tbl':>11}"
        f"{'claim rel':>11}{'eps_lb':>9}{neighbour_high:>9}{'D high':>8}{'lb/claim':>10}{'secs':>7}"
    )
    for name, unit, mechanism, budgets in CASES:
        for budget in budgets:
            policy = variant(text, unit, mechanism, budget)
            started = time.perf_counter()
            result = audit_on_scratch(policy, args.table, args.trials, args.confidence)
            seconds = time.perf_counter() - started
            high, low = result.directions
            print(
                f"{name:<24}{budget:<15}{result.trials:>8,}{result.delta:>8.0e}"
                f"{result.claimed_epsilon:>11.3f}{result.release_epsilon:>11.3f}"
                f"{result.epsilon_lb:>9.3f}{high.epsilon:>9.3f}"
                f"{low.epsilon:>8.3f}{result.ratio:>10.2f}{seconds:>7.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
