"""Server-side sessions in the internal store: the cookie carries only a random key, and
the store keeps its SHA-256, so a copy of the table signs nobody in. A session survives a
restart of the console but not its expiry; an expired session is kept a day as a
tombstone, so that the console can say "your session has expired" rather than "sign in".
An empty session (a visitor who has not signed in) is never written.

Each method does its database work in a worker thread, never on the event loop: on SQLite a
write waits for the store's write lock (up to the busy timeout, 30 s, while an ingest holds
it), and on the event loop that wait held every request of the console, not this one only."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from litestar.concurrency import sync_to_thread
from litestar.stores.base import Store
from sqlalchemy import Delete, Engine, delete, insert, select, update

from privacy.store.audit import utc_now
from privacy.store.console import ConsoleSession

TOMBSTONE = timedelta(days=1)
EMPTY = (b"{}", b"")


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return utc_now() + timedelta(seconds=seconds)


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SessionStore(Store):
    """Litestar's store interface over the ``console_sessions`` table."""

    def __init__(self, internal: Engine) -> None:
        self.internal = internal

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Keep ``value`` under ``key`` until it expires (an empty session is not kept)."""
        data = value.encode() if isinstance(value, str) else value
        if data.strip() in EMPTY:  # nothing to keep, nothing written (no write lock taken)
            return
        await sync_to_thread(self._set, _hashed(key), data, _expiry(expires_in))

    def _set(self, hashed: str, data: bytes, expires_at: datetime | None) -> None:
        with self.internal.begin() as connection:
            # Tombstones go after a day (the index on expires_at finds them).
            connection.execute(
                delete(ConsoleSession).where(ConsoleSession.expires_at < utc_now() - TOMBSTONE)
            )
            connection.execute(delete(ConsoleSession).where(ConsoleSession.key == hashed))
            connection.execute(
                insert(ConsoleSession).values(key=hashed, value=data, expires_at=expires_at)
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value under ``key`` if it has not expired (its expiry moved on by
        ``renew_for`` when given)."""
        return await sync_to_thread(self._get, _hashed(key), renew_for)

    def _get(self, hashed: str, renew_for: int | timedelta | None) -> bytes | None:
        with self.internal.begin() as connection:
            row = connection.execute(
                select(ConsoleSession.value, ConsoleSession.expires_at).where(
                    ConsoleSession.key == hashed
                )
            ).first()
            if row is None or (row.expires_at is not None and row.expires_at <= utc_now()):
                return None
            if renew_for is not None and row.expires_at is not None:
                connection.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.key == hashed)
                    .values(expires_at=_expiry(renew_for))
                )
            return bytes(row.value)

    async def expired(self, key: str) -> bool:
        """Whether ``key`` named a session that has expired (within the last day)."""
        expires_at = await sync_to_thread(self._expires_at, key)
        now = utc_now()
        # A tombstone older than a day is gone once any session is saved; until then it
        # is not read as one either.
        return expires_at is not None and now - TOMBSTONE <= expires_at <= now

    def _expires_at(self, key: str) -> datetime | None:
        with self.internal.connect() as connection:
            found: datetime | None = connection.execute(
                select(ConsoleSession.expires_at).where(ConsoleSession.key == _hashed(key))
            ).scalar()
        return found

    async def delete(self, key: str) -> None:
        """Forget ``key`` (signing out leaves no tombstone)."""
        statement = delete(ConsoleSession).where(ConsoleSession.key == _hashed(key))
        await sync_to_thread(self._delete, statement)

    async def delete_all(self) -> None:
        """Forget every session (everyone signs in again)."""
        await sync_to_thread(self._delete, delete(ConsoleSession))

    def _delete(self, statement: Delete) -> None:
        with self.internal.begin() as connection:
            connection.execute(statement)

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired session."""
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires, or None."""
        expires_at = await sync_to_thread(self._expires_at, key)
        if expires_at is None:
            return None
        return max(0, int((expires_at - utc_now()).total_seconds()))
