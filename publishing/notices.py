"""Notices on published releases: superseded by a corrected release, or withdrawn.

A release is immutable and stays reachable for ever; a notice says, in public, that it no
longer stands, why, and since when. The release that stands for a period is the latest one
made that carries no notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from publishing.models import Release, ReleaseNotice

NoticeStatus = Literal["superseded", "withdrawn"]


@dataclass(frozen=True)
class Notice:
    """Why a release no longer stands."""

    release_id: str
    status: NoticeStatus
    reason: str
    noticed_at: datetime
    replaced_by: str | None = None


class NoticeRefused(ValueError):
    """The notice cannot be given (no such release, or it already has one)."""


def read_notices(engine: Engine) -> dict[str, Notice]:
    """Every notice in the public store, by release id."""
    with engine.connect() as connection:
        rows = connection.execute(select(ReleaseNotice)).all()
    return {
        r.release_id: Notice(r.release_id, r.status, r.reason, r.noticed_at, r.replaced_by)
        for r in rows
    }


def write_notice(engine: Engine, notice: Notice) -> None:
    """Add ``notice`` to the public store; a release takes one notice only."""
    try:
        with engine.begin() as connection:
            write_notice_in(connection, notice)
    except IntegrityError:  # two notices of one release at once: the key let one in
        raise NoticeRefused(
            f"release {notice.release_id[:12]} was given a notice by someone else meanwhile"
        ) from None


def write_notice_in(connection: Connection, notice: Notice) -> None:
    """:func:`write_notice` inside the caller's transaction. Of two notices of one release
    written at once, the database's primary key lets one in: the other's transaction
    fails with an IntegrityError."""
    exists = connection.execute(select(Release.id).where(Release.id == notice.release_id)).first()
    if exists is None:
        raise NoticeRefused(f"no release {notice.release_id[:12]} in the public store")
    earlier = connection.execute(
        select(ReleaseNotice.status).where(ReleaseNotice.release_id == notice.release_id)
    ).scalar()
    if earlier is not None:
        raise NoticeRefused(f"release {notice.release_id[:12]} is already {earlier}")
    connection.execute(
        insert(ReleaseNotice).values(
            release_id=notice.release_id,
            status=notice.status,
            reason=notice.reason,
            replaced_by=notice.replaced_by,
            noticed_at=notice.noticed_at,
        )
    )


def standing_releases(engine: Engine) -> dict[str, str]:
    """The release that stands for each period: period -> release id (the latest made
    without a notice). A period whose every release was withdrawn has none."""
    notices = read_notices(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Release.period, Release.id).order_by(
                Release.period, Release.created_at, Release.id
            )
        ).all()
    standing: dict[str, str] = {}
    for period, release_id in rows:
        if release_id not in notices:
            standing[period] = release_id
    return standing
