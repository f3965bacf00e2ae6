"""Build a release: aggregate, plan, charge, draw, post-process, and hand over.

The order is the design's: every table is aggregated and its OpenDP measurement built and
checked first; then the whole release is charged to the ledger and committed; only then is
noise drawn. A refusal before the charge (a quarter not over, no areas, already charged
under the policy) spends nothing; a crash after it leaves the spend recorded and no
release, never a hidden draw. No decision here looks at the records: a quarter with no
records is released like any other, as noisy zeros.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version

from sqlalchemy import Engine, select

from privacy.release.accounting import epsilon_for, release_privacy
from privacy.release.ledger import (
    AlreadyCharged,
    Charge,
    ChargeRequest,
    Receipt,
    charge_budget,
    earlier_charges,
)
from privacy.release.noise import TableMeasurement, draw_all
from privacy.release.outcomes import explain_repeat
from privacy.release.periods import Quarter
from privacy.release.policy import Policy
from privacy.release.postprocess import PostProcessor
from privacy.release.shape import (
    ReleaseRefused,
    ReleaseShape,
    counted_parts,
    noise_model,
    prepare,
    release_shape,
    vocabularies_used,
)
from privacy.store.audit import record_audit, utc_now
from publishing.models import Release
from publishing.releases import ReleaseContent, write_release

__all__ = ["BuiltRelease", "DraftedRelease", "ReleaseRefused", "build_release", "draft_release"]


@dataclass(frozen=True)
class BuiltRelease:
    """What was published."""

    release_id: str
    period: str
    tables: int
    cells: int
    rho: float


def build_release(
    internal: Engine,
    public: Engine,
    period: str,
    policy: Policy,
    *,
    actor: str | None = None,
    rerelease: bool = False,
) -> BuiltRelease:
    """Build and publish ``policy``'s release of ``period`` (a quarter such as 2025Q3)."""
    with _collector_paused():  # writing the release allocates as much as drafting it
        drafted = draft_release(internal, public, period, policy, actor=actor, rerelease=rerelease)
        content = drafted.content
        release_id = write_release(public, content, created_at=utc_now())
    with internal.begin() as connection:
        record_audit(
            connection,
            actor,
            "release",
            {
                "release_id": release_id,
                "release_key": content.release_key,
                "period": content.period,
                "policy": policy.name,
                "rho": drafted.rho,
            },
        )
    return BuiltRelease(release_id, content.period, len(content.tables), drafted.cells, drafted.rho)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector for the release (seconds), then restore it. What a
    release allocates is freed by reference counting; a full collection in the middle walks
    every object the imported libraries made and finds nothing, for 40 to 85 ms
    (measured), which at a million records is a tenth of the release."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def draft_release(
    internal: Engine,
    public: Engine,
    period: str,
    policy: Policy,
    *,
    actor: str | None = None,
    rerelease: bool = False,
) -> DraftedRelease:
    """Aggregate, charge and draw ``policy``'s release of ``period`` without publishing
    it: the budget is spent when this returns, and the content is ready for the public
    store (published values and intervals, never a raw count)."""
    with _collector_paused():
        return _draft(internal, public, period, policy, actor, rerelease)


@dataclass(frozen=True)
class DraftedRelease:
    """A release drawn and charged, not yet public, and the rho it spent."""

    content: ReleaseContent
    rho: float
    profile_revision: int | None

    @property
    def cells(self) -> int:
        """How many cells its tables hold."""
        return sum(len(t.cells) for t in self.content.tables)


def _draft(
    internal: Engine,
    public: Engine,
    period: str,
    policy: Policy,
    actor: str | None,
    rerelease: bool,
) -> DraftedRelease:
    quarter = Quarter.parse(period)
    refuse_unfinished(quarter)
    shape = release_shape(public, quarter, policy)  # refuses, unspent, without areas
    # The release's shape (cells, levels, noise scales) does not depend on the data, so its
    # OpenDP measurements, its post-processing and the simulation behind its intervals are
    # prepared while the database counts; nothing there sees a record. The simulation (when
    # none is stored for the shape) runs in a forked child: in this process's thread, it
    # took turns with the count at the interpreter's lock. Where the database server counts,
    # the simulation is the longest step and starts at once, and this process builds the
    # measurements once the count is in, so that only the server and the child share the
    # machine's cores while it counts. Where this process counts (SQLite), the count is the
    # longest: the measurements are built beside it, in a thread, and the simulation starts
    # after them, so that the two never both take turns with the count (bench/RESULTS.md,
    # session 28). The intervals are in hand before anything is charged, so a failure there
    # spends nothing.
    model = None
    if internal.dialect.name != "sqlite":
        model = noise_model(shape, policy, internal, simulate_apart=True)
    preparing: Future[tuple[list[TableMeasurement | None], PostProcessor]] | None = None
    try:
        if not rerelease:  # a first look, before counting; the ledger decides under its lock
            _refuse_repeat(internal, public, quarter, policy)
        if model is not None:  # the server counts while this process waits for it
            parts = counted_parts(internal, shape, policy)
            planned, processor = prepare(shape, policy, internal, model=model)
        else:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="release-shape") as pool:
                preparing = pool.submit(prepare, shape, policy, internal, beside_count=True)
                parts = counted_parts(internal, shape, policy)
                planned, processor = preparing.result()
        processor.calibrate()
    except BaseException:  # refused, failed or interrupted: no simulation is left running
        if preparing is not None:
            _abandon(preparing)
        if model is not None:
            model.half_widths.cancel()
        raise
    measured = [p for p in planned if p is not None]
    release_key = uuid.uuid4().hex
    try:
        receipt = charge_budget(
            internal, charge_request(policy, quarter, measured, release_key, rerelease, actor)
        )
    except AlreadyCharged as repeat:
        raise ReleaseRefused(explain_repeat(public, str(quarter), repeat.earlier, ())) from None
    # The charge has committed: from here on noise may be drawn.
    raw = draw_all(planned, [c.counts for c in parts])
    tables = processor.tables(raw)
    rho = release_privacy(
        policy.budget.mechanism,
        policy.budget.delta,
        [p.charge.rho for p in measured],
        [p.charge.epsilon_shown for p in measured],
        parallel_sources(policy, [p.charge for p in measured]),
    )[0]
    content = ReleaseContent(
        period=str(quarter),
        release_key=release_key,
        policy_name=policy.name,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        policy_text=policy.text,
        budget_statement=budget_statement(policy, measured, receipt) | profile_statement(shape),
        engine_version=version("transparency-portal"),
        tables=tables,
    )
    revision = None if shape.profile is None else shape.profile.revision
    return DraftedRelease(content, rho, revision)


def _abandon(preparing: Future[tuple[list[TableMeasurement | None], PostProcessor]]) -> None:
    """Stop the simulation a failed release started apart: its child would otherwise live
    as long as whatever keeps the failure's traceback."""
    with suppress(BaseException):  # the preparation's own failure is not the one to report
        preparing.result()[1].abandon()


def charge_request(
    policy: Policy,
    quarter: Quarter,
    measured: list[TableMeasurement],
    release_key: str,
    rerelease: bool,
    actor: str | None,
) -> ChargeRequest:
    """What a release of ``quarter`` under ``policy`` asks of the ledger."""
    budget = policy.budget
    return ChargeRequest(
        release_id=release_key,
        period=str(quarter),
        policy_name=policy.name,
        policy_sha256=policy.sha256,
        currency=budget.currency,
        cap=budget.cap,
        unit_kind=policy.unit.kind,
        unit=policy.unit.describe(),
        window_start=quarter.start,
        window_end=quarter.end,
        charges=tuple(p.charge for p in measured),
        horizon=budget.horizon_account(quarter.year),
        horizon_kind=budget.horizon,
        horizon_cap=budget.horizon_cap,
        rerelease=rerelease,
        actor=actor,
    )


def parallel_sources(policy: Policy, charges: Sequence[Charge]) -> list[str] | None:
    """Each charge's source where sources compose in parallel (the record unit: no record
    is of two sources), else None (a person may appear in several)."""
    return [c.source for c in charges] if policy.unit.kind == "record" else None


def refuse_unfinished(quarter: Quarter, today: date | None = None) -> None:
    """A quarter is released once it has ended, by this machine's clock: a decision from
    the calendar, never from the records."""
    today = today or date.today()
    if quarter.end.date() > today:
        raise ReleaseRefused(
            f"{quarter} has not ended yet (it ends on {quarter.end - timedelta(days=1):%Y-%m-%d}):"
            " a quarter is released once it is over"
        )


def profile_statement(shape: ReleaseShape) -> dict[str, object]:
    """What the department profile decided for this release, as published with it: the
    tables withheld and why, each source's coverage, whether the quarter is partial."""
    return {
        "profile_revision": None if shape.profile is None else shape.profile.revision,
        "withheld": [{"table": name, "why": why} for name, why in shape.withheld],
        "coverage": {
            source: [first.isoformat(), (last - timedelta(days=1)).isoformat()]
            for source, (first, last) in shape.coverage.items()
        },
        "partial": shape.partial,
        "vocabularies": vocabularies_used(shape.tables),
    }


def budget_statement(
    policy: Policy, planned: list[TableMeasurement], receipt: Receipt
) -> dict[str, object]:
    """The release's budget statement, in the policy's own currency: what it spent, what
    its period (and, for a person unit, its horizon) has spent in all, and the same in
    words."""
    budget, period = policy.budget, receipt.period
    rho, epsilon, delta = release_privacy(
        budget.mechanism,
        budget.delta,
        [p.charge.rho for p in planned],
        [p.charge.epsilon_shown for p in planned],
        parallel_sources(policy, [p.charge for p in planned]),
    )
    spent = rho if budget.currency == "rho" else epsilon
    # The quarter's total as (epsilon, delta): every release of it so far, this one included.
    period_epsilon = (
        epsilon_for(period.spent, budget.delta) if period.currency == "rho" else period.spent
    )
    statement: dict[str, object] = {
        "unit": policy.unit.describe(),
        "unit_kind": policy.unit.kind,
        "mechanism": budget.mechanism,
        "currency": budget.currency,
        "spent": spent,
        "rho": rho,
        "epsilon": epsilon,
        "delta": delta,
        "period_currency": period.currency,
        "period_cap": period.cap,
        "period_spent": period.spent,
        "period_epsilon": period_epsilon,
    }
    if budget.currency == "rho":
        words = (
            f"This release spent zCDP rho = {rho:.4g} of the quarter's budget of "
            f"{period.cap:.4g} ({period.spent:.4g} spent in all); that implies "
            f"({epsilon:.3g}, {delta:g})-differential privacy for {policy.unit.describe()}."
        )
    else:
        words = (
            f"This release spent epsilon = {epsilon:.4g} of the quarter's pure-DP budget of "
            f"epsilon = {period.cap:.4g} ({period.spent:.4g} spent in all): "
            f"({epsilon:.3g}, 0)-differential privacy for {policy.unit.describe()}."
        )
    if receipt.horizon is not None:
        horizon = receipt.horizon
        statement |= {
            "horizon": horizon.horizon,
            "horizon_cap": horizon.cap,
            "horizon_spent": horizon.spent,
        }
        words += (
            f" Over the horizon {horizon.horizon}, releases about these people have spent "
            f"{horizon.currency} = {horizon.spent:.4g} of a cap of {horizon.cap:.4g}."
        )
    statement["words"] = words
    return statement


def _refuse_repeat(internal: Engine, public: Engine, quarter: Quarter, policy: Policy) -> None:
    with public.connect() as connection:
        same_policy = (
            connection.execute(
                select(Release.id).where(
                    Release.period == str(quarter), Release.policy_sha256 == policy.sha256
                )
            )
            .scalars()
            .all()
        )
    earlier = earlier_charges(internal, str(quarter), policy.sha256)
    if earlier or same_policy:
        raise ReleaseRefused(explain_repeat(public, str(quarter), earlier, same_policy))
