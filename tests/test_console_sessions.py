"""The console never holds the whole server on the internal store's write lock.

Every console request loads and stores its session in the internal store, and signing in or
out writes a line to the audit log. On SQLite a write waits up to the busy timeout (30 s)
while another connection holds the store's write lock (an upload's ingest holds it for the
whole file). Done on the event loop, that wait held every other request too, a stylesheet
included, for as long.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from portal.admin.app import CSRF_COOKIE, create_admin_app
from portal.admin.state import SESSION_COOKIE
from portal.settings import Settings
from portal.stores import internal_engine, upgrade_stores
from tests.console import PASSWORD, Console, add_people, console

HOLD = 5.0  # seconds another connection keeps the internal store's write lock
Waiting = Callable[[Console], Callable[[TestClient[Litestar]], int]]


def a_signed_in_page(served: Console) -> Callable[[TestClient[Litestar]], int]:
    """Ana's home page: renewing her session writes to the store."""
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


@pytest.mark.parametrize(
    ("waiting", "answer"), [(a_signed_in_page, 200), (a_sign_in, 303)], ids=["page", "sign-in"]
)
def test_a_held_write_lock_holds_only_the_requests_that_write(
    sqlite_settings: Settings, waiting: Waiting, answer: int
) -> None:
    upgrade_stores(sqlite_settings)
    internal = internal_engine(sqlite_settings)
    add_people(internal)
    internal.dispose()
    app = create_admin_app(sqlite_settings, build_reports=False)
    with console(app) as served:
        request = waiting(served)
        held, answers = threading.Event(), {}

        def hold_the_write_lock() -> None:  # another connection, as an ingest would be
            holder = sqlite3.connect(sqlite_settings.data_dir / "internal.sqlite3")
            holder.isolation_level = None
            holder.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(HOLD)
            holder.execute("ROLLBACK")
            holder.close()

        def send() -> None:  # waits for the lock
            answers["waiting"] = request(served.client)

        holding = threading.Thread(target=hold_the_write_lock)
        holding.start()
        held.wait()
        sending = threading.Thread(target=send)
        sending.start()
        time.sleep(0.5)  # the request now waits on the lock
        started = time.monotonic()
        stylesheet = served.client.get("/console.css")  # no session: nothing to write
        took = time.monotonic() - started
        holding.join()
        sending.join(timeout=60)
    assert stylesheet.status_code == 200
    assert took < 2.0, f"the stylesheet waited {took:.1f} s for another request's write"
    assert answers == {"waiting": answer}  # answered once the lock was let go
