"""Draft releases and corrections: no single person can publish, and nothing is deleted.

A draft is a release drawn and charged (its budget is spent) but kept in the internal store
until an approver who did not build it publishes it. A correction supersedes a published
release with a corrected draft, or withdraws it; either takes effect only when a second
person confirms it, and the public store keeps the old release with a notice. Every step
appends a line to the audit log, in the same transaction as the step.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from privacy.release.build import draft_release
from privacy.release.ledger import earlier_charges
from privacy.release.periods import Quarter
from privacy.release.policy import Policy
from privacy.store.audit import record_audit, utc_now
from privacy.store.console import ReleaseCorrection, ReleaseDraft
from publishing.notices import (
    Notice,
    NoticeRefused,
    read_notices,
    standing_releases,
    write_notice,
    write_notice_in,
)
from publishing.profile import read_profile
from publishing.releases import (
    ReleaseContent,
    content_from_json,
    content_to_json,
    write_release_in,
)

Refusal = Literal["conflict", "forbidden", "not_found", "invalid"]
Step = TypeVar("Step", bound=Callable[..., Any])
# The steps of the workflow run one at a time in a process (the console is one process):
# each checks the state of things and then changes it, and two at once could both pass
# the check. Across processes, the database's keys and conditional updates decide.
_WORKFLOW = threading.RLock()


def one_at_a_time(step: Step) -> Step:
    """Run ``step`` under the workflow's lock."""

    @functools.wraps(step)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _WORKFLOW:
            return step(*args, **kwargs)

    return cast(Step, locked)


class DraftRefused(Exception):
    """A step of the workflow is refused; ``kind`` says whether it conflicts with the state
    of things (409), is not this person's to take (403), or names nothing (404)."""

    def __init__(self, message: str, kind: Refusal = "conflict") -> None:
        super().__init__(message)
        self.kind: Refusal = kind


@dataclass(frozen=True)
class DraftInfo:
    """A draft as the console lists it (its content is read separately)."""

    id: str
    period: str
    policy_name: str
    profile_revision: int | None
    built_by: str
    built_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    replaces: str | None
    release_id: str | None


@dataclass(frozen=True)
class CorrectionInfo:
    """A request to supersede or withdraw a published release."""

    id: int
    release_id: str
    action: str
    draft_id: str | None
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    confirmed_by: str | None
    confirmed_at: datetime | None


_DRAFT_COLUMNS = tuple(c for c in ReleaseDraft.__table__.columns if c.name != "content")


def list_drafts(internal: Engine) -> list[DraftInfo]:
    """Every draft, newest first."""
    with internal.connect() as connection:
        rows = connection.execute(
            select(*_DRAFT_COLUMNS).order_by(ReleaseDraft.built_at.desc())
        ).all()
    return [DraftInfo(*row) for row in rows]


def get_draft(internal: Engine, draft_id: str) -> DraftInfo:
    """The draft ``draft_id``; refused as not found when there is none."""
    with internal.connect() as connection:
        row = connection.execute(select(*_DRAFT_COLUMNS).where(ReleaseDraft.id == draft_id)).first()
    if row is None:
        raise DraftRefused(f"there is no draft {draft_id}", "not_found")
    return DraftInfo(*row)


def draft_content(internal: Engine, draft_id: str) -> ReleaseContent:
    """What the draft would publish: its tables of published values and intervals."""
    with internal.connect() as connection:
        data = connection.execute(
            select(ReleaseDraft.content).where(ReleaseDraft.id == draft_id)
        ).scalar()
    if data is None:
        raise DraftRefused(f"there is no draft {draft_id}", "not_found")
    return content_from_json(data)


@one_at_a_time
def build_draft(
    internal: Engine,
    public: Engine,
    period: str,
    policy: Policy,
    *,
    actor: str,
    spend_again: bool = False,
    replaces: str | None = None,
    reason: str = "",
) -> DraftInfo:
    """Build, charge and keep a draft of ``period`` under ``policy``. ``replaces`` names
    the published release this draft would correct (``reason`` says why). Refused before
    any charge when a draft of the period awaits a decision, when the period is already
    released (unless this is a correction), or when the period was charged before under
    the policy and ``spend_again`` is not given."""
    period = str(Quarter.parse(period))  # one spelling of each quarter
    pending = [d for d in list_drafts(internal) if d.period == period and d.status == "draft"]
    if pending:
        raise DraftRefused(
            f"a draft of {period} ({pending[0].id[:12]}, built by {pending[0].built_by}) "
            "awaits a decision: approve or reject it first"
        )
    standing = standing_releases(public).get(period)
    if replaces is None and standing is not None:
        raise DraftRefused(
            f"{period} is already released ({standing[:12]}): to change it, build a "
            "correction from that release's page"
        )
    if replaces is not None:
        if replaces != standing:
            raise DraftRefused(
                f"release {replaces[:12]} is not the one that stands for {period}: only "
                "the standing release can be superseded"
            )
        if not reason.strip():
            raise DraftRefused("a correction needs a reason, which is published with it")
        if any(
            c.release_id == replaces and c.status == "requested" for c in list_corrections(internal)
        ):
            raise DraftRefused(
                f"a request to withdraw release {replaces[:12]} awaits a second approver: "
                "confirm or cancel it first"
            )
    earlier = earlier_charges(internal, period, policy.sha256)
    if earlier and replaces is None and not spend_again:
        raise DraftRefused(
            f"{period} was already charged under this policy (by an earlier draft or "
            "release): building it again spends budget again; choose to spend again to do so"
        )
    drafted = draft_release(
        internal,
        public,
        period,
        policy,
        actor=actor,
        rerelease=bool(earlier) or replaces is not None,
    )
    content = drafted.content
    now = utc_now()
    try:
        with internal.begin() as connection:
            connection.execute(
                insert(ReleaseDraft).values(
                    id=content.release_key,
                    period=content.period,
                    policy_name=policy.name,
                    profile_revision=drafted.profile_revision,
                    built_by=actor,
                    built_at=now,
                    status="draft",
                    replaces=replaces,
                    content=content_to_json(content),
                )
            )
            if replaces is not None:
                connection.execute(
                    insert(ReleaseCorrection).values(
                        release_id=replaces,
                        action="supersede",
                        draft_id=content.release_key,
                        reason=reason.strip(),
                        requested_by=actor,
                        requested_at=now,
                        status="requested",
                    )
                )
            record_audit(
                connection,
                actor,
                "build draft",
                {
                    "draft": content.release_key,
                    "period": content.period,
                    "policy": policy.name,
                    "rho": drafted.rho,
                    "replaces": replaces,
                },
            )
    except IntegrityError:
        raise DraftRefused(
            f"a draft or a correction of {period} was made by someone else meanwhile; this "
            f"build's charge ({content.release_key[:12]}) stays spent, shown in the ledger"
        ) from None
    return get_draft(internal, content.release_key)


@one_at_a_time
def publish_draft(internal: Engine, public: Engine, draft_id: str, *, approver: str) -> str:
    """Approve and publish the draft: write its release to the public store (and, for a
    correction, the notice that the old one is superseded). Refused for the person who
    built it, for a draft already decided, and for a draft built against a department
    profile that has changed since. Returns the release id."""
    draft = get_draft(internal, draft_id)
    if draft.status != "draft":
        raise DraftRefused(f"draft {draft_id[:12]} is already {draft.status}")
    if draft.built_by == approver:
        raise DraftRefused(
            f"{approver} built draft {draft_id[:12]} and cannot approve it: another approver must",
            "forbidden",
        )
    profile = read_profile(public)
    revision = None if profile is None else profile.revision
    if revision != draft.profile_revision:
        raise DraftRefused(
            f"draft {draft_id[:12]} was built against department profile revision "
            f"{draft.profile_revision}, and revision {revision} is now in force: reject it "
            "and build the period again"
        )
    if draft.replaces is not None and standing_releases(public).get(draft.period) != (
        draft.replaces
    ):
        raise DraftRefused(
            f"release {draft.replaces[:12]} no longer stands for {draft.period}: this "
            "correction has nothing to supersede; reject it"
        )
    content = draft_content(internal, draft_id)
    release_id = content.content_hash()
    now = utc_now()
    # Read before the public store's transaction, which holds its write lock until it ends.
    notice = (
        None
        if draft.replaces is None
        else Notice(
            draft.replaces,
            "superseded",
            _correction_of_draft(internal, draft_id).reason,
            now,
            release_id,
        )
    )
    # The decision is taken first, in the internal store: whoever decides second (a
    # rejection, another approval) is refused before anything reaches the public store.
    with internal.begin() as connection:
        _decide(connection, draft_id, "published", approver, now, None, release_id)
    # The release and, for a correction, the notice on the release it supersedes are one
    # transaction of the public store: both, or neither.
    try:
        with public.begin() as connection:
            write_release_in(connection, content, created_at=now)
            if notice is not None:
                write_notice_in(connection, notice)
    except Exception as error:
        with internal.begin() as connection:  # undone: the draft awaits a decision again
            connection.execute(
                update(ReleaseDraft)
                .where(ReleaseDraft.id == draft_id, ReleaseDraft.status == "published")
                .values(status="draft", decided_by=None, decided_at=None, release_id=None)
            )
        if isinstance(error, NoticeRefused | IntegrityError):
            raise DraftRefused(
                f"{error}: nothing was published; the draft awaits a decision"
            ) from None
        raise
    with internal.begin() as connection:
        record_audit(
            connection, approver, "approve", {"draft": draft_id, "built_by": draft.built_by}
        )
        record_audit(
            connection,
            approver,
            "publish",
            {"draft": draft_id, "period": draft.period, "release_id": release_id},
        )
        if draft.replaces is not None:
            _confirm(connection, draft_id, approver, now)
            record_audit(
                connection,
                approver,
                "supersede",
                {"release_id": draft.replaces, "by": release_id, "draft": draft_id},
            )
    return release_id


@one_at_a_time
def reject_draft(internal: Engine, draft_id: str, *, approver: str, reason: str) -> None:
    """Reject the draft with ``reason``: it stays, and so does the budget it spent."""
    draft = get_draft(internal, draft_id)
    if draft.status != "draft":
        raise DraftRefused(f"draft {draft_id[:12]} is already {draft.status}")
    if not reason.strip():
        raise DraftRefused("a rejection needs a reason")
    now = utc_now()
    with internal.begin() as connection:
        _decide(connection, draft_id, "rejected", approver, now, reason.strip(), None)
        connection.execute(
            update(ReleaseCorrection)
            .where(ReleaseCorrection.draft_id == draft_id)
            .values(status="cancelled", confirmed_by=approver, confirmed_at=now)
        )
        record_audit(
            connection,
            approver,
            "reject",
            {"draft": draft_id, "period": draft.period, "reason": reason.strip()},
        )


@one_at_a_time
def request_withdrawal(
    internal: Engine, public: Engine, release_id: str, *, actor: str, reason: str
) -> CorrectionInfo:
    """Ask for a published release to be withdrawn; a second person must confirm."""
    if release_id not in standing_releases(public).values():
        notice = read_notices(public).get(release_id)
        why = f"it is already {notice.status}" if notice else "it is not a published release"
        raise DraftRefused(f"release {release_id[:12]} cannot be withdrawn: {why}")
    if not reason.strip():
        raise DraftRefused("a withdrawal needs a reason, which is published with it")
    open_requests = [
        c
        for c in list_corrections(internal)
        if c.release_id == release_id and c.status == "requested"
    ]
    if open_requests:
        raise DraftRefused(f"a correction of release {release_id[:12]} already awaits confirmation")
    now = utc_now()
    try:
        with internal.begin() as connection:
            new_id = connection.execute(
                insert(ReleaseCorrection)
                .values(
                    release_id=release_id,
                    action="withdraw",
                    reason=reason.strip(),
                    requested_by=actor,
                    requested_at=now,
                    status="requested",
                )
                .returning(ReleaseCorrection.id)
            ).scalar_one()
            record_audit(
                connection,
                actor,
                "request withdrawal",
                {"release_id": release_id, "reason": reason.strip(), "correction": new_id},
            )
    except IntegrityError:
        raise DraftRefused(
            f"a correction of release {release_id[:12]} was asked for by someone else meanwhile"
        ) from None
    return get_correction(internal, new_id)


@one_at_a_time
def confirm_withdrawal(internal: Engine, public: Engine, correction_id: int, *, actor: str) -> None:
    """Confirm a requested withdrawal: the public store marks the release withdrawn."""
    correction = get_correction(internal, correction_id)
    if correction.action != "withdraw" or correction.status != "requested":
        raise DraftRefused(f"correction {correction_id} does not await confirmation")
    if correction.requested_by == actor:
        raise DraftRefused(
            f"{actor} asked for this withdrawal and cannot confirm it: a second person must",
            "forbidden",
        )
    now = utc_now()
    with internal.begin() as connection:  # claimed first: a second confirmation is refused
        claimed = connection.execute(
            update(ReleaseCorrection)
            .where(ReleaseCorrection.id == correction_id, ReleaseCorrection.status == "requested")
            .values(status="done", confirmed_by=actor, confirmed_at=now)
        ).rowcount
    if claimed != 1:
        raise DraftRefused(f"correction {correction_id} was decided by someone else meanwhile")
    try:
        write_notice(public, Notice(correction.release_id, "withdrawn", correction.reason, now))
    except NoticeRefused as refused:
        with internal.begin() as connection:
            connection.execute(
                update(ReleaseCorrection)
                .where(ReleaseCorrection.id == correction_id)
                .values(status="cancelled")
            )
        raise DraftRefused(f"{refused}: the request to withdraw it is cancelled") from None
    with internal.begin() as connection:
        record_audit(
            connection,
            actor,
            "withdraw",
            {"release_id": correction.release_id, "correction": correction_id},
        )


def list_corrections(internal: Engine) -> list[CorrectionInfo]:
    """Every correction asked for, newest first."""
    with internal.connect() as connection:
        rows = connection.execute(
            select(*ReleaseCorrection.__table__.columns).order_by(ReleaseCorrection.id.desc())
        ).all()
    return [CorrectionInfo(*row) for row in rows]


def get_correction(internal: Engine, correction_id: int) -> CorrectionInfo:
    """The correction ``correction_id``; refused as not found when there is none."""
    for correction in list_corrections(internal):
        if correction.id == correction_id:
            return correction
    raise DraftRefused(f"there is no correction {correction_id}", "not_found")


def _correction_of_draft(internal: Engine, draft_id: str) -> CorrectionInfo:
    for correction in list_corrections(internal):
        if correction.draft_id == draft_id:
            return correction
    raise DraftRefused(f"draft {draft_id[:12]} has no correction request", "not_found")


def _decide(
    connection: Connection,
    draft_id: str,
    status: str,
    by: str,
    at: datetime,
    reason: str | None,
    release_id: str | None,
) -> None:
    """Record the decision on a draft that still awaits one (two deciding at once: the
    second finds it decided and is refused)."""
    changed = connection.execute(
        update(ReleaseDraft)
        .where(ReleaseDraft.id == draft_id, ReleaseDraft.status == "draft")
        .values(status=status, decided_by=by, decided_at=at, reason=reason, release_id=release_id)
    ).rowcount
    if changed != 1:
        raise DraftRefused(f"draft {draft_id[:12]} was decided by someone else meanwhile")


@one_at_a_time
def cancel_withdrawal(internal: Engine, correction_id: int, *, actor: str) -> None:
    """Cancel a request to withdraw a release (any approver may: a request nobody
    confirms would otherwise stand in the way of a correction)."""
    correction = get_correction(internal, correction_id)
    if correction.action != "withdraw" or correction.status != "requested":
        raise DraftRefused(f"correction {correction_id} does not await confirmation")
    with internal.begin() as connection:
        connection.execute(
            update(ReleaseCorrection)
            .where(ReleaseCorrection.id == correction_id, ReleaseCorrection.status == "requested")
            .values(status="cancelled", confirmed_by=actor, confirmed_at=utc_now())
        )
        record_audit(
            connection,
            actor,
            "cancel withdrawal",
            {"correction": correction_id, "release_id": correction.release_id},
        )


def _confirm(connection: Connection, draft_id: str, by: str, at: datetime) -> None:
    connection.execute(
        update(ReleaseCorrection)
        .where(ReleaseCorrection.draft_id == draft_id)
        .values(status="done", confirmed_by=by, confirmed_at=at)
    )
