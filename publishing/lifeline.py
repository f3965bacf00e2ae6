"""A child process that dies with its parent: no worker outlives the process that started it.

A parent killed outright (SIGKILL, the OOM killer) cannot tell its children to stop; the
kernel can. On Linux the child asks, with ``prctl(PR_SET_PDEATHSIG)``, for a signal when
its parent dies. Elsewhere a daemon thread watches the parent's pid instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1
# SIGKILL rather than SIGTERM: an orphan has nobody to answer to, and a handler of its own
# (uvicorn's waits for open connections) must not be able to keep it alive.
_SIGNAL = signal.SIGKILL


def die_with_parent(parent_pid: int) -> None:
    """Make this process die when ``parent_pid``, its parent, does; die now if it already
    has (it may have died between starting this process and this call)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(_SIGNAL), 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
    else:
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()
    # Checked after the request: a parent that dies from here on sends the signal.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), _SIGNAL)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), _SIGNAL)
