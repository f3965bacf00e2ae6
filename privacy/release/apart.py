"""A computation of floats started in a forked copy of this process, collected later.

The intervals' simulation is numpy work in many small steps. Run in a thread beside a
release's count, the two took turns at the interpreter's lock, and the count slowed by
about as much as the thread saved (``bench/apart.py``). A forked child has an interpreter
of its own. It sees nothing the parent does not already hold, touches no database
connection, and hands its floats back through a pipe. Where no child can be forked, or it
fails or does not answer in time, the parent computes the same value itself.

Ingest forks its worker only from a process without threads (a child could inherit a lock
another thread held), because the worker runs much of the library. This child may be
forked beside other threads (a release forks it from its preparing thread while the main
one counts): it runs numpy on arrays the parent made and this module only, with a random
generator of its own and noise tables built without a lock, so it takes no lock another
thread may hold; and should it ever hang, the timeout hands the work back here.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
# Far longer than the largest simulation MAX_SAMPLES allows; a child stuck past it (on a
# lock another thread held when it was forked) is killed and the work done here instead.
CHILD_TIMEOUT = 120.0


def forking() -> bool:
    """Whether work is forked here: on Linux only (macOS's system libraries are not safe
    in a forked child, and Windows has no fork)."""
    return sys.platform == "linux" and hasattr(os, "fork")


class Apart:
    """``compute()`` started in a forked child at once (with ``fork``, where
    :func:`forking`); :meth:`result` collects it, :meth:`cancel` ends it unused.

    ``compute`` must return ``length`` floats and depend on nothing but what this process
    already holds. Without a child it runs here, when the result is asked for."""

    def __init__(
        self,
        compute: Callable[[], Floats],
        length: int,
        *,
        fork: bool = True,
        timeout: float = CHILD_TIMEOUT,
    ) -> None:
        self.compute, self.length, self.timeout = compute, length, timeout
        self._pid: int | None = None
        self._pipe = -1
        self._result: Floats | None = None
        if fork and forking():
            self._fork()

    def result(self) -> Floats:
        """The floats: the child's, or computed here when it gave none."""
        if self._result is None:
            answer = self._collect() if self._pid is not None else None
            self._result = self.compute() if answer is None else answer
        return self._result

    def cancel(self) -> None:
        """End the child, if it runs, without its result (the work it was for failed)."""
        if self._pid is not None:
            pid, self._pid = self._pid, None
            try:
                _stop(pid)
            finally:
                os.close(self._pipe)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at shutdown, the os module may be gone
            self.cancel()

    def _fork(self) -> None:
        readable, writable = os.pipe()
        try:
            # Python 3.12 and later warn (DeprecationWarning) when a process with threads
            # forks; see the module's note on why this child may be. The warning is not
            # silenced here: warnings.catch_warnings would change the filters of every
            # thread. Tests filter it (pyproject.toml).
            pid = os.fork()
        except OSError:
            os.close(readable)
            os.close(writable)
            return
        if pid == 0:
            self._child(readable, writable)  # never returns
        os.close(writable)
        self._pid, self._pipe = pid, readable

    def _child(self, readable: int, writable: int) -> None:
        """The forked child: compute, write, and leave at once whatever happens (it must
        never return into the caller's code, which would go on with the release)."""
        code = 1
        try:
            os.close(readable)
            view = memoryview(np.ascontiguousarray(self.compute(), dtype="<f8").tobytes())
            while view:
                view = view[os.write(writable, view) :]
            code = 0
        except BaseException:
            pass  # the parent sees the exit code and computes the value itself
        finally:
            os._exit(code)

    def _collect(self) -> Floats | None:
        """The child's floats, or None (the child is then killed if it still runs)."""
        assert self._pid is not None
        try:
            answer = _read_all(self._pipe, time.monotonic() + self.timeout)
        except BaseException:
            self.cancel()
            raise
        if answer is None:
            self.cancel()
            return None
        # The child closed its end: it has finished. Reaped here, it is never killed (its
        # number could by then be another process's).
        pid, self._pid = self._pid, None
        os.close(self._pipe)
        if _reaped(pid) not in (0, None) or len(answer) != self.length * 8:
            return None
        return np.frombuffer(answer, dtype="<f8").astype(np.float64)


def _read_all(readable: int, deadline: float) -> bytes | None:
    """Everything written to the pipe until the child closes it, or None past ``deadline``
    (``poll``, not ``select``, which fails on descriptors numbered 1024 and up)."""
    chunks: list[bytes] = []
    waiting = select.poll()
    waiting.register(readable, select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not waiting.poll(left * 1000):
            return None
        chunk = os.read(readable, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reaped(pid: int) -> int | None:
    """The child's exit status once it has ended, or None when it was reaped elsewhere
    (a process that ignores SIGCHLD reaps its children itself)."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _stop(pid: int) -> None:
    """Kill the child, if it still runs, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reaped(pid)
