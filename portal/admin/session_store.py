"""Server-side sessions in the internal store: the cookie carries only a random key, and a
session survives a restart of the console but not its expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import Engine, delete, insert, select, update

from privacy.store.audit import utc_now
from privacy.store.console import ConsoleSession


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return utc_now() + timedelta(seconds=seconds)


class SessionStore(Store):
    """Litestar's store interface over the ``console_sessions`` table."""

    def __init__(self, internal: Engine) -> None:
        self.internal = internal

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Keep ``value`` under ``key`` until it expires."""
        data = value.encode() if isinstance(value, str) else value
        with self.internal.begin() as connection:
            # Expired sessions go as new ones come (the index on expires_at finds them).
            connection.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utc_now()))
            connection.execute(delete(ConsoleSession).where(ConsoleSession.key == key))
            connection.execute(
                insert(ConsoleSession).values(key=key, value=data, expires_at=_expiry(expires_in))
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value under ``key`` if it has not expired (its expiry moved on by
        ``renew_for`` when given); expired sessions are removed as they are met."""
        now = utc_now()
        with self.internal.begin() as connection:
            row = connection.execute(
                select(ConsoleSession.value, ConsoleSession.expires_at).where(
                    ConsoleSession.key == key
                )
            ).first()
            if row is None:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                connection.execute(delete(ConsoleSession).where(ConsoleSession.key == key))
                return None
            if renew_for is not None and row.expires_at is not None:
                connection.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.key == key)
                    .values(expires_at=_expiry(renew_for))
                )
            return bytes(row.value)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self.internal.begin() as connection:
            connection.execute(delete(ConsoleSession).where(ConsoleSession.key == key))

    async def delete_all(self) -> None:
        """Forget every session (everyone signs in again)."""
        with self.internal.begin() as connection:
            connection.execute(delete(ConsoleSession))

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired session."""
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires, or None."""
        with self.internal.connect() as connection:
            expires_at = connection.execute(
                select(ConsoleSession.expires_at).where(ConsoleSession.key == key)
            ).scalar()
        if expires_at is None:
            return None
        return max(0, int((expires_at - utc_now()).total_seconds()))
