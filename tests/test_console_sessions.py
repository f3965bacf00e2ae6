"""The console's store work off its event loop: no request held by another's write, and
sign-ins sent at once throttled as if sent one by one.

Every console request loads and stores its session in the internal store; signing in or
out, and every refusal, writes a line to the audit log. On SQLite a write waits up to the
busy timeout (30 s) while another connection holds the store's write lock (an upload's
ingest holds it for the whole file). Done on the event loop, that wait held every other
request too, a stylesheet included, for as long.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event, select, update

import portal.admin.pages.uploads as upload_pages
from portal.admin.accounts import FAILURES_PER_ACCOUNT
from portal.admin.app import CSRF_COOKIE, SESSION_SECONDS, create_admin_app
from portal.admin.session_store import TOMBSTONE, SessionStore
from portal.admin.state import SESSION_COOKIE
from portal.admin.uploads import choose_mapping
from portal.settings import Settings
from portal.stores import internal_engine, upgrade_stores
from privacy.ingest.mapping import Mapping
from privacy.store.audit import utc_now
from privacy.store.console import ConsoleSession
from tests.console import PASSWORD, Console, add_people, console, minneapolis_stops

HOLD = 5.0  # seconds another connection keeps the internal store's write lock
Waiting = Callable[[Console], Callable[[TestClient[Litestar]], int]]


@pytest.fixture
def served(sqlite_settings: Settings) -> Iterator[Console]:
    """The console on SQLite stores, with its people's accounts."""
    upgrade_stores(sqlite_settings)
    internal = internal_engine(sqlite_settings)
    add_people(internal)
    internal.dispose()
    with console(create_admin_app(sqlite_settings, build_reports=False)) as app:
        yield app


def a_signed_in_page(served: Console) -> Callable[[TestClient[Litestar]], int]:
    """Ana's home page: storing her session again after it is a write."""
    ana = served.person("ana")
    cookie = f"{SESSION_COOKIE}={ana.cookies.get(SESSION_COOKIE)}"
    return lambda client: client.get("/", headers={"Cookie": cookie}).status_code


def a_sign_in(served: Console) -> Callable[[TestClient[Litestar]], int]:
    """Abe signing in: his audit line and his new session are writes."""
    abe = served.person("abe", signed_in=False)
    token = abe.token
    form = {"name": "abe", "password": PASSWORD, "_csrf_token": token}
    cookie = f"{CSRF_COOKIE}={token}"
    return lambda client: (
        client.post(
            "/login", data=form, headers={"Cookie": cookie}, follow_redirects=False
        ).status_code
    )


def a_refusal(served: Console) -> Callable[[TestClient[Litestar]], int]:
    """A page asked for without signing in: its refusal is a line in the audit log."""
    return lambda client: client.get("/ledger").status_code


@pytest.mark.parametrize(
    ("waiting", "answer"),
    [(a_signed_in_page, 200), (a_sign_in, 303), (a_refusal, 401)],
    ids=["page", "sign-in", "refusal"],
)
def test_a_held_write_lock_holds_only_the_requests_that_write(
    served: Console, sqlite_settings: Settings, waiting: Waiting, answer: int
) -> None:
    request = waiting(served)
    held, answers = threading.Event(), {}
    holding = threading.Thread(target=hold_the_write_lock, args=(sqlite_settings, held))

    def send() -> None:  # waits for the lock
        answers["waiting"] = request(served.client)

    holding.start()
    held.wait()
    sending = threading.Thread(target=send)
    sending.start()
    time.sleep(0.5)  # the request now waits on the lock
    took = stylesheet_seconds(served)
    holding.join()
    sending.join(timeout=60)
    assert took < 2.0, f"the stylesheet waited {took:.1f} s for another request's write"
    assert answers == {"waiting": answer}  # answered once the lock was let go


def test_an_upload_recorded_while_the_write_lock_is_held_holds_no_other_request(
    served: Console, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lock is taken once the upload's session is loaded, as an ingest starting at that
    # moment would take it: then recording the upload is what waits (storing the session
    # again, after the page, waits too, in a worker thread).
    ana = served.person("ana")
    token = ana.token
    cookie = f"{SESSION_COOKIE}={ana.cookies.get(SESSION_COOKIE)}; {CSRF_COOKIE}={token}"
    held, answers = threading.Event(), {}
    holding = threading.Thread(target=hold_the_write_lock, args=(sqlite_settings, held))

    def lock_then_choose(*args: Any) -> Mapping:
        holding.start()
        held.wait()
        return choose_mapping(*args)

    monkeypatch.setattr(upload_pages, "choose_mapping", lock_then_choose)

    def send() -> None:
        answers["upload"] = served.client.post(
            "/uploads",
            data={"kind": "stops", "mapping": "minneapolis-stops", "_csrf_token": token},
            files={"file": ("stops.csv", minneapolis_stops(5), "text/csv")},
            headers={"Cookie": cookie},
            follow_redirects=False,
        ).status_code

    sending = threading.Thread(target=send)
    sending.start()
    held.wait(timeout=30)
    time.sleep(0.5)  # the upload is now being recorded, and waits on the lock
    took = stylesheet_seconds(served)
    holding.join()
    sending.join(timeout=60)
    assert took < 2.0, f"the stylesheet waited {took:.1f} s for the upload's record"
    assert answers == {"upload": 303}  # recorded once the lock was let go


def hold_the_write_lock(settings: Settings, held: threading.Event) -> None:
    """Hold the internal store's write lock for :data:`HOLD` seconds from another
    connection, as an ingest would; ``held`` is set once it is taken."""
    holder = sqlite3.connect(settings.data_dir / "internal.sqlite3")
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(HOLD)
    holder.execute("ROLLBACK")
    holder.close()


def stylesheet_seconds(served: Console) -> float:
    """How long the console's stylesheet (no session: nothing to write) takes to come."""
    started = time.monotonic()
    stylesheet = served.client.get("/console.css")
    took = time.monotonic() - started
    assert stylesheet.status_code == 200
    return took


def test_a_signed_in_page_stores_its_session_once_with_its_expiry_moved_on(
    served: Console,
) -> None:
    # Every response stores the session again, expiring SESSION_SECONDS from then: renewing
    # it as it was loaded too was a second write, and a second wait for the write lock.
    ana = served.person("ana")
    cookie = f"{SESSION_COOKIE}={ana.cookies.get(SESSION_COOKIE)}"
    internal = served.state.internal
    with internal.begin() as connection:  # half a minute of her session left
        connection.execute(
            update(ConsoleSession).values(expires_at=utc_now() + timedelta(seconds=30))
        )
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statement: str = args[2]
        if ConsoleSession.__tablename__ in statement:
            statements.append(statement.split()[0])

    event.listen(internal, "before_cursor_execute", seen)
    try:
        assert served.client.get("/", headers={"Cookie": cookie}).status_code == 200
    finally:
        event.remove(internal, "before_cursor_execute", seen)
    # Loaded; then stored: tombstones older than a day cleared, the session replaced.
    assert statements == ["SELECT", "DELETE", "DELETE", "INSERT"]
    with internal.connect() as connection:
        expires_at = connection.execute(select(ConsoleSession.expires_at)).scalar_one()
    assert expires_at is not None
    assert expires_at > utc_now() + timedelta(seconds=SESSION_SECONDS - 60)


def test_sign_ins_sent_at_once_are_throttled_as_if_sent_one_by_one(served: Console) -> None:
    # Checked in worker threads, each sign-in's throttle check could run before any of the
    # others had recorded its failure (argon2's check takes a good part of a second).
    token = served.person("abe", signed_in=False).token
    form = {"name": "abe", "password": "not his password at all", "_csrf_token": token}
    cookie = f"{CSRF_COOKIE}={token}"

    def wrong_password(_: int) -> int:
        answer = served.client.post(
            "/login", data=form, headers={"Cookie": cookie}, follow_redirects=False
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = sorted(pool.map(wrong_password, range(12)))
    assert answers == [401] * FAILURES_PER_ACCOUNT + [429] * (12 - FAILURES_PER_ACCOUNT)


def test_a_session_is_said_to_have_expired_for_a_day_only(sqlite_settings: Settings) -> None:
    upgrade_stores(sqlite_settings)
    internal = internal_engine(sqlite_settings)
    store = SessionStore(internal)
    asyncio.run(store.set("key", b'{"user": "ana"}', expires_in=60))
    answers = []
    for ago in (timedelta(seconds=1), TOMBSTONE - timedelta(minutes=1), TOMBSTONE * 2):
        with internal.begin() as connection:
            connection.execute(update(ConsoleSession).values(expires_at=utc_now() - ago))
        answers.append(asyncio.run(store.expired("key")))
    internal.dispose()
    assert answers == [True, True, False]  # after a day it is no session at all
