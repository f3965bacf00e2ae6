"""Helpers for tests that run ``portal serve`` as an operator would: a process of its own,
its worker processes found through /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from portal.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def portal_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment with ``settings`` as PORTAL_* variables, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env |= {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "COLUMNS": "250",
    }
    if settings.site_db_url != settings.public_db_url:
        env["PORTAL_SITE_DB_URL"] = settings.site_db_url
    return env | extra


def run_portal(env: Mapping[str, str], *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``portal ARGS`` to its end; (exit status, stdout and stderr). A command still
    running after ``timeout`` seconds (a server that should have refused) is killed and
    reported as status None's stand-in, -1."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from portal.cli import main; main()", *args],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, output
    return process.returncode, output


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it; its start time tells it from a later one of its pid."""

    pid: int
    started: int

    def alive(self) -> bool:
        """Whether it still runs (a zombie has ended: it only awaits its parent's wait)."""
        stat = _stat(self.pid)
        return stat is not None and stat[1] == self.started and stat[0] != "Z"

    def environ(self) -> dict[str, str]:
        """Its environment, as the kernel keeps it."""
        raw = Path(f"/proc/{self.pid}/environ").read_bytes()
        pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}

    def cmdline(self) -> str:
        """Its command line, arguments joined by spaces ("" once it has gone)."""
        try:
            raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return ""
        return raw.replace(b"\0", b" ").decode(errors="replace")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, start time, parent pid) of ``pid``, or None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19]), int(fields[1])


def process_tree(root: int) -> list[Proc]:
    """``root`` and every process descended from it, as they are now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[2], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        stat = _stat(pid)
        if stat is not None:
            found.append(Proc(pid, stat[1]))
            todo.extend(children.get(pid, []))
    return found


def answers(port: int) -> bool:
    """Whether the site answers on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/releases", timeout=5):
            return True
    except OSError:
        return False


def port_is_closed(port: int) -> bool:
    """Whether nothing accepts connections on ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


@contextmanager
def serving(env: Mapping[str, str], *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``portal serve ARGS`` on a free port, once its workers answer; (process, port). Every
    process of its session is killed afterwards, whatever the test did."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from portal.cli import main; main()",
            "serve",
            "--port",
            str(port),
            *args,
        ],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"portal serve did not answer on {port}: {output}")
            time.sleep(0.2)
        yield process, port
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        if process.stdout:
            process.stdout.close()
