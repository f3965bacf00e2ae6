"""A stopped ingest leaves no process behind and no partial batch.

``portal ingest`` converts a large file in a worker process. Killed (SIGKILL), terminated
(SIGTERM) or interrupted (Ctrl-C, which reaches the whole process group), the command and
its worker must all be gone within seconds, whether the worker was forked or spawned, and
the store must hold nothing of the batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from portal.settings import Settings
from privacy.ingest import ingest_file, load_mapping
from privacy.ingest.pipeline import PARALLEL_MIN_BYTES
from privacy.synth import generate_city
from tests.canonical import stop_row, write_stops
from tests.test_ingest_records import store_snapshot

# Started through this script, a bystander thread makes ingest spawn its worker (forking a
# process with threads is unsafe); without it, the command forks, as it does when run.
SPAWNING_PORTAL = """
import sys, threading
threading.Thread(target=threading.Event().wait, daemon=True).start()
from portal.cli import main
sys.argv[0] = "portal"
main()
"""
GONE_WITHIN_SECONDS = 5.0


@pytest.fixture(scope="module")
def big_stops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stops file just large enough for ingest to use its worker process."""
    manifest = generate_city(
        tmp_path_factory.mktemp("big"), stops=62_000, incidents=0, force_events=0, years=1
    )
    assert manifest.stops.stat().st_size >= PARALLEL_MIN_BYTES
    return manifest.stops


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it: the start time tells a reused pid from the original."""

    pid: int
    parent: int
    state: str
    started: int


def processes() -> dict[int, Proc]:
    """Every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = Proc(int(entry.name), int(fields[1]), fields[0], int(fields[19]))
    return found


def descendants(root: int) -> list[Proc]:
    """The processes started by ``root``, and by them, and so on."""
    table = processes()
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p in table.values() if p.parent == parent]
        found += children
        frontier += [c.pid for c in children]
    return found


def still_running(recorded: list[Proc]) -> list[Proc]:
    """Those of ``recorded`` that still run (a zombie has ended; a reused pid is another)."""
    table = processes()
    return [
        p
        for p in recorded
        if p.pid in table and table[p.pid].started == p.started and table[p.pid].state != "Z"
    ]


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Launcher:
    """Starts ``portal ingest`` for a test, and at its end kills whatever it started that
    still runs (so that a failing test leaves no process behind either)."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.commands: list[subprocess.Popen[bytes]] = []
        self.seen: dict[int, Proc] = {}

    def start(self, path: Path, *, spawn: bool) -> subprocess.Popen[bytes]:
        """Start ``portal ingest stops PATH`` in a session of its own (so that a signal to
        its process group is what Ctrl-C in a terminal sends); return once its worker
        runs. Its output goes to files: a pipe would stay open as long as any process of
        the tree holds it."""
        env = {
            **os.environ,
            "PORTAL_DATA_DIR": str(self.settings.data_dir),
            "PORTAL_INTERNAL_DB_URL": self.settings.internal_db_url,
            "PORTAL_PUBLIC_DB_URL": self.settings.public_db_url,
        }
        args = ["ingest", "stops", str(path), "--mapping", "synthetic-stops"]
        portal = Path(sys.executable).parent / "portal"
        argv = [sys.executable, "-c", SPAWNING_PORTAL, *args] if spawn else [str(portal), *args]
        number = len(self.commands)
        with (
            (self.directory / f"out-{number}.txt").open("wb") as out,
            (self.directory / f"err-{number}.txt").open("wb") as err,
        ):
            command = subprocess.Popen(
                argv, env=env, stdout=out, stderr=err, start_new_session=True
            )
        self.commands.append(command)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and command.poll() is None:
            tree = self.tree(command)
            # Spawning starts multiprocessing's resource tracker too; the worker is the other.
            if any("resource_tracker" not in command_line(p.pid) for p in tree):
                return command
            time.sleep(0.01)
        raise AssertionError(f"the ingest's worker never started: {self.stderr(command)}")

    def tree(self, command: subprocess.Popen[bytes]) -> list[Proc]:
        """The command's processes now; every one seen is remembered."""
        found = descendants(command.pid)
        self.seen.update((p.pid, p) for p in found)
        return found

    def stderr(self, command: subprocess.Popen[bytes]) -> str:
        """What the command wrote on stderr."""
        number = self.commands.index(command)
        return (self.directory / f"err-{number}.txt").read_text(errors="replace")

    def stop(self, command: subprocess.Popen[bytes], how: signal.Signals) -> list[Proc]:
        """Send ``how`` (SIGINT to the process group, like Ctrl-C; others to the command) a
        moment into the conversion, wait for the command; return every process of its tree
        seen until the signal."""
        time.sleep(0.2)
        self.tree(command)
        recorded = list(self.seen.values())
        if how is signal.SIGINT:
            os.killpg(command.pid, how)
        else:
            command.send_signal(how)
        command.wait(timeout=60)
        return recorded

    def clean_up(self) -> None:
        """Kill what this launcher started and still runs."""
        for command in self.commands:
            if command.poll() is None:
                command.kill()
                command.wait()
        for left in still_running(list(self.seen.values())):
            os.kill(left.pid, signal.SIGKILL)


@pytest.fixture
def launcher(settings: Settings, tmp_path: Path) -> Iterator[Launcher]:
    """Starts commands on ``settings``' stores; kills their leftovers at the end."""
    started = Launcher(settings, tmp_path)
    yield started
    started.clean_up()


def assert_all_gone(recorded: list[Proc]) -> None:
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while still_running(recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = still_running(recorded)
    assert not left, [(p.pid, command_line(p.pid)) for p in left]


def assert_nothing_written(engines: tuple[Engine, Engine]) -> None:
    snapshot = store_snapshot(engines[0])
    assert (snapshot["stops"], snapshot["ingest_batches"]) == (0, 0), snapshot


@pytest.mark.parametrize("spawn", [False, True], ids=["forked", "spawned"])
def test_a_killed_ingest_leaves_no_worker_behind(
    engines: tuple[Engine, Engine], big_stops: Path, launcher: Launcher, spawn: bool
) -> None:
    command = launcher.start(big_stops, spawn=spawn)

    recorded = launcher.stop(command, signal.SIGKILL)

    assert command.returncode == -signal.SIGKILL
    assert_all_gone(recorded)
    assert_nothing_written(engines)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_terminated_or_interrupted_ingest_leaves_nothing_behind(
    engines: tuple[Engine, Engine],
    big_stops: Path,
    launcher: Launcher,
    how: signal.Signals,
    tmp_path: Path,
) -> None:
    command = launcher.start(big_stops, spawn=False)

    recorded = launcher.stop(command, how)

    stderr = launcher.stderr(command)
    if how is signal.SIGINT:
        assert command.returncode == 130, stderr
        assert "interrupted: an ingest that does not finish writes nothing" in stderr
    else:
        assert command.returncode == -signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert_all_gone(recorded)
    assert_nothing_written(engines)

    # Nothing of the stopped batch holds a lock: the next ingest writes.
    small = write_stops(tmp_path / "small.csv", [stop_row(n) for n in range(1, 11)])
    report = ingest_file(*engines, "stops", small, load_mapping("synthetic-stops"))
    assert (report.rows_added, store_snapshot(engines[0])["stops"]) == (10, 10)
