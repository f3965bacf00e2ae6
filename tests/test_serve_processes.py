"""``portal serve`` as processes: stopping it stops every worker and frees the port, and no
process of the site is given the internal store's URL or the public store's writing one."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy.engine import make_url

from portal.settings import Settings
from tests.serving import port_is_closed, portal_environment, process_tree, serving


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name
)
def test_a_signal_to_serve_leaves_no_process_and_frees_the_port(
    sqlite_settings: Settings, sig: signal.Signals
) -> None:
    from portal.stores import upgrade_stores

    upgrade_stores(sqlite_settings)  # a migrated store is all serving needs
    with serving(portal_environment(sqlite_settings), "--workers", "2") as (server, port):
        tree = process_tree(server.pid)
        workers = [p for p in tree if "--multiprocessing-fork" in p.cmdline()]
        assert len(workers) == 2, [p.cmdline() for p in tree]

        os.kill(server.pid, sig)
        server.wait(15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not any(p.alive() for p in tree) and port_is_closed(port):
                break
            time.sleep(0.1)

        assert [p.cmdline() for p in tree if p.alive()] == []
        assert port_is_closed(port)


def test_no_process_of_the_site_is_given_the_internal_store(site_settings: Settings) -> None:
    """The server and each of its workers: their environment (as /proc shows it) names
    the site's URL and neither the internal store nor the public store's writing URL."""
    env = portal_environment(
        site_settings, PORTAL_TEST_CANARY="not for the site", PGPASSWORD="not for the site"
    )
    internal = make_url(site_settings.internal_db_url)
    withheld = [site_settings.internal_db_url, str(internal.database)]
    if site_settings.site_db_url != site_settings.public_db_url:
        withheld.append(site_settings.public_db_url)  # the writing URL, on PostgreSQL
    with serving(env, "--workers", "2") as (server, _port):
        tree = process_tree(server.pid)
        workers = [p for p in tree if "--multiprocessing-fork" in p.cmdline()]
        assert len(workers) == 2
        for process in tree:
            environ = process.environ()
            assert environ["PORTAL_SITE_DB_URL"] == site_settings.site_db_url
            assert not {
                "PORTAL_INTERNAL_DB_URL",
                "PORTAL_PUBLIC_DB_URL",
                "PORTAL_DATA_DIR",
                "PORTAL_TEST_CANARY",
                "PGPASSWORD",
            } & set(environ), process.cmdline()
            everything = "\n".join(f"{k}={v}" for k, v in environ.items())
            assert not [url for url in withheld if url in everything], process.cmdline()
