"""Make a worker process die with its parent, however the worker was started.

A parent killed with SIGKILL runs no clean-up: its workers are re-parented and carry on,
blocked on a pipe nobody reads or serving on a socket nobody watches. A worker protects
itself by calling :func:`die_with_parent` first thing:

- on Linux the kernel sends it a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
- everywhere, a daemon thread polls ``os.getppid()`` and sends the same signal once the
  process has been re-parented (the parent is gone);
- and a parent that died before the call is noticed at once.

Two things to know. The kernel's signal fires when the *thread* that started the worker
ends, not only when the whole parent process does, so start workers from a thread that
lives as long as they should (the main thread, usually); the polling thread does not have
this quirk. And ``parent_pid`` must be the worker's real parent: under multiprocessing's
``forkserver`` that is the server, not the process that asked for the worker.

This module is on the public side so that both sides can use it: ingest's converter
worker and the web server's workers. It imports nothing of either.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

# From <linux/prctl.h>.
PR_SET_PDEATHSIG: Final = 1
# How often the watching thread looks at the parent; a dead parent is noticed within this.
POLL_SECONDS: Final = 0.5


def die_with_parent(
    parent_pid: int,
    *,
    signum: int = signal.SIGKILL,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Have this process receive ``signum`` (SIGKILL by default) when its parent
    ``parent_pid`` dies. Call it first thing in the worker, with the pid the parent passed
    in (``os.getpid()`` in the parent), not with ``os.getppid()``, which may already be the
    process that adopted an orphan.

    A worker with state to save may pass ``signum=signal.SIGTERM`` and handle it."""
    _ask_the_kernel(signum)
    if os.getppid() != parent_pid:  # the parent died before the kernel was asked
        os.kill(os.getpid(), signum)
    watcher = threading.Thread(
        target=_watch, args=(parent_pid, signum, poll_seconds), name="lifeline", daemon=True
    )
    watcher.start()


def parent_signal_supported() -> bool:
    """Whether the kernel can signal this process when its parent dies (Linux only)."""
    return _prctl() is not None


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_int
    prctl: Callable[..., int] = function
    return prctl


def _ask_the_kernel(signum: int) -> bool:
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, signum, 0) == 0


def _watch(parent_pid: int, signum: int, poll_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os.kill(os.getpid(), signum)
