"""publishing.lifeline: a worker dies with its parent, even a parent killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publishing import lifeline

# The parent starts the child, says its pid, then waits to be killed.
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), *sys.argv[2:]])
print(child.pid, flush=True)
time.sleep(120)
"""
# The child waits as asked, takes its lifeline, says so in a file, then sleeps on.
CHILD = """
import sys, time
from pathlib import Path
from publishing import lifeline
parent, how, ready, delay = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
if how == "polling":
    lifeline._ask_the_kernel = lambda signum: False  # as where prctl does not exist
time.sleep(delay)
lifeline.die_with_parent(parent, poll_seconds=0.1)
ready.write_text("ready")
time.sleep(120)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.parametrize(
    ("how", "delay"),
    [("kernel", 0.0), ("polling", 0.0), ("kernel", 1.5)],
    ids=["kernel signal", "polling only", "parent gone before the call"],
)
def test_the_child_dies_with_a_killed_parent(tmp_path: Path, how: str, delay: float) -> None:
    ready = tmp_path / "ready"
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, how, str(ready), str(delay)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        if delay == 0:
            deadline = time.monotonic() + 30
            while not ready.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert ready.exists(), "the child never took its lifeline"

        parent.kill()
        parent.wait()

        deadline = time.monotonic() + 5
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not running(child)
        assert delay == 0 or not ready.exists()  # gone at the call, not after it
    finally:
        if running(child):
            os.kill(child, signal.SIGKILL)
        parent.stdout.close()


def test_the_kernel_signal_is_available_on_linux() -> None:
    assert lifeline.parent_signal_supported() == sys.platform.startswith("linux")
