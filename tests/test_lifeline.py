"""A process that calls ``die_with_parent`` does not outlive its parent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from tests.serving import ROOT, process_tree

CHILD = """
import os, sys, time
from publishing.lifeline import die_with_parent
die_with_parent(int(sys.argv[1]))
print(os.getpid(), flush=True)
time.sleep(120)
"""
PARENT = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
time.sleep(120)
"""


def test_a_child_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())  # once die_with_parent has returned
        child = next(p for p in process_tree(parent.pid) if p.pid == child_pid)

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while child.alive() and time.monotonic() < deadline:
            time.sleep(0.05)

        assert not child.alive()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(10)
        if parent.stdout:
            parent.stdout.close()


def test_a_child_whose_parent_already_died_dies_at_once() -> None:
    # Its own pid is surely not its parent's: as if the parent had died before the call.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os\nfrom publishing.lifeline import die_with_parent\n"
            "die_with_parent(os.getpid())\nprint('outlived its parent')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "outlived" not in done.stdout
