"""The department profile under review: one person proposes a revision, a second approves
it, and only then is it published (it decides structural zeros and partial periods, so it
is a release's input that no one person may change alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from privacy.profile import vocabularies, vocabulary_switch
from privacy.release.drafts import DraftRefused, one_at_a_time
from privacy.store.audit import record_audit, utc_now
from privacy.store.console import ProfileDraft
from publishing.profile import ProfileError, parse_profile, read_profile, write_profile


@dataclass(frozen=True)
class ProposedProfile:
    """A proposed profile revision and what became of it."""

    id: int
    text: str
    based_on: int | None
    proposed_by: str
    proposed_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    revision: int | None


def list_proposals(internal: Engine) -> list[ProposedProfile]:
    """Every proposal, newest first."""
    with internal.connect() as connection:
        rows = connection.execute(
            select(*ProfileDraft.__table__.columns).order_by(ProfileDraft.id.desc())
        ).all()
    return [ProposedProfile(*row) for row in rows]


def propose_profile(internal: Engine, public: Engine, text: str, *, actor: str) -> int:
    """Check ``text`` (TOML) against the canonical vocabularies and keep it for review."""
    try:
        profile = parse_profile(text, vocabularies=vocabularies(), origin="the profile")
    except ProfileError as error:
        raise DraftRefused(str(error), "invalid") from None
    current = read_profile(public)
    refusal = vocabulary_switch(current, profile, internal)
    if refusal is not None:
        raise DraftRefused(refusal)
    with internal.begin() as connection:
        new_id = connection.execute(
            insert(ProfileDraft)
            .values(
                text=text,
                based_on=None if current is None else current.revision,
                proposed_by=actor,
                proposed_at=utc_now(),
                status="proposed",
            )
            .returning(ProfileDraft.id)
        ).scalar_one()
        record_audit(
            connection, actor, "propose profile", {"proposal": new_id, "name": profile.name}
        )
    return int(new_id)


@one_at_a_time
def approve_profile(internal: Engine, public: Engine, proposal_id: int, *, actor: str) -> int:
    """Publish the proposal as the profile in force; refused for its proposer and for a
    proposal made against a revision that is no longer in force. Returns the revision."""
    proposal = _proposal(internal, proposal_id)
    if proposal.status != "proposed":
        raise DraftRefused(f"proposal {proposal_id} is already {proposal.status}")
    if proposal.proposed_by == actor:
        raise DraftRefused(
            f"{actor} proposed this profile and cannot approve it: a second person must",
            "forbidden",
        )
    current = read_profile(public)
    in_force = None if current is None else current.revision
    if in_force != proposal.based_on:
        raise DraftRefused(
            f"this proposal was made against revision {proposal.based_on}, and revision "
            f"{in_force} is now in force: reject it and propose again"
        )
    profile = parse_profile(proposal.text, vocabularies=vocabularies(), origin="the profile")
    refusal = vocabulary_switch(current, profile, internal)
    if refusal is not None:
        raise DraftRefused(refusal)
    now = utc_now()
    revision = write_profile(public, profile, now=now)
    with internal.begin() as connection:
        connection.execute(
            update(ProfileDraft)
            .where(ProfileDraft.id == proposal_id)
            .values(status="published", decided_by=actor, decided_at=now, revision=revision)
        )
        record_audit(
            connection, actor, "publish profile", {"proposal": proposal_id, "revision": revision}
        )
    return revision


@one_at_a_time
def reject_profile(internal: Engine, proposal_id: int, *, actor: str, reason: str) -> None:
    """Reject the proposal with ``reason``."""
    proposal = _proposal(internal, proposal_id)
    if proposal.status != "proposed":
        raise DraftRefused(f"proposal {proposal_id} is already {proposal.status}")
    if not reason.strip():
        raise DraftRefused("a rejection needs a reason")
    with internal.begin() as connection:
        connection.execute(
            update(ProfileDraft)
            .where(ProfileDraft.id == proposal_id)
            .values(
                status="rejected", decided_by=actor, decided_at=utc_now(), reason=reason.strip()
            )
        )
        record_audit(
            connection, actor, "reject profile", {"proposal": proposal_id, "reason": reason}
        )


def _proposal(internal: Engine, proposal_id: int) -> ProposedProfile:
    for proposal in list_proposals(internal):
        if proposal.id == proposal_id:
            return proposal
    raise DraftRefused(f"there is no profile proposal {proposal_id}", "not_found")
