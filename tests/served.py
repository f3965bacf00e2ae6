"""``portal serve`` in a subprocess on a free loopback port, for tests that need the real
server (uvicorn's own answers, its headers) rather than the app in process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from portal.settings import Settings


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def portal_serve(settings: Settings, workers: int, log: Path) -> Iterator[int]:
    """``portal serve --workers N`` over the stores of ``settings``, once it answers ``/``;
    yields its port and stops it after."""
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "PORTAL_SITE_DB_URL": settings.site_db_url,
    }
    command = [sys.executable, "-c", "from portal.cli import main; main()", "serve"]
    args = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *args], env=env, stdout=out, stderr=out)
    try:
        _wait_until_up(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"portal serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"portal serve did not answer GET / within 60 s:\n{log.read_text()}")
