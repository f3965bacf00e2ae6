"""Work started in a forked child and collected later gives what this process would have
computed, whatever the child does: fails, answers wrongly, hangs, or is never collected."""

from __future__ import annotations

import os
import resource
import signal
import time

import numpy as np
import pytest

from privacy.release.apart import Apart, forking

PARENT = os.getpid()

pytestmark = pytest.mark.skipif(not forking(), reason="work is forked on Linux only")


def in_child() -> bool:
    return os.getpid() != PARENT


def pid_of_the_computer() -> np.ndarray:
    return np.array([float(os.getpid()), 2.5])


def hangs_in_the_child() -> np.ndarray:
    if in_child():
        time.sleep(60)
    return pid_of_the_computer()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_work_runs_in_a_child_and_its_floats_come_back_exactly() -> None:
    apart = Apart(pid_of_the_computer, 2)
    child = apart._pid

    result = apart.result()

    assert child is not None and result.tolist() == [float(child), 2.5]
    assert result[0] != PARENT
    assert gone(child)  # reaped, not left a zombie
    assert apart.result() is result  # collected once


def test_without_fork_the_work_runs_here_when_asked_for() -> None:
    assert Apart(pid_of_the_computer, 2, fork=False).result().tolist() == [PARENT, 2.5]


def test_a_child_that_fails_leaves_the_work_to_this_process() -> None:
    def fails_in_the_child() -> np.ndarray:
        if in_child():
            raise RuntimeError("no memory in the child")
        return pid_of_the_computer()

    assert Apart(fails_in_the_child, 2).result().tolist() == [PARENT, 2.5]


def test_a_child_that_answers_with_the_wrong_length_is_not_trusted() -> None:
    def short_in_the_child() -> np.ndarray:
        return np.array([1.0]) if in_child() else pid_of_the_computer()

    assert Apart(short_in_the_child, 2).result().tolist() == [PARENT, 2.5]


def test_a_child_that_does_not_answer_in_time_is_killed_and_the_work_done_here() -> None:
    apart = Apart(hangs_in_the_child, 2, timeout=0.5)
    child = apart._pid
    started = time.monotonic()

    assert apart.result().tolist() == [PARENT, 2.5]
    assert time.monotonic() - started < 30
    assert child is not None and gone(child)


def test_work_never_collected_ends_its_child() -> None:
    apart = Apart(hangs_in_the_child, 2)
    child = apart._pid
    del apart  # a release that failed in its count drops its simulation

    assert child is not None and gone(child)


def test_a_pipe_numbered_past_1024_is_read() -> None:
    # select() cannot watch a descriptor numbered 1024 or more; a long-running console with
    # many sockets open could otherwise never collect a child's work.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1100
    if soft < wanted + 10:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    held: list[int] = []
    try:
        while len(held) < wanted:
            held.append(os.open(os.devnull, os.O_RDONLY))
        apart = Apart(pid_of_the_computer, 2)
        assert apart._pipe >= 1024
        child = apart._pid

        assert apart.result().tolist() == [float(child or 0), 2.5]
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_child_reaped_by_the_system_still_hands_back_its_work() -> None:
    # A process that ignores SIGCHLD (a launcher can pass that on) has its children reaped
    # for it: there is no exit status to wait for, and the answer's length is the check.
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        apart = Apart(pid_of_the_computer, 2)
        child = apart._pid

        assert apart.result().tolist() == [float(child or 0), 2.5]
        assert Apart(lambda: np.array([1.0]), 2).result().tolist() == [1.0]  # short: here
    finally:
        signal.signal(signal.SIGCHLD, before)


def test_cancelled_work_ends_its_child_and_closes_its_pipe() -> None:
    apart = Apart(hangs_in_the_child, 2)
    child, pipe = apart._pid, apart._pipe

    apart.cancel()

    assert child is not None and gone(child)
    with pytest.raises(OSError):
        os.fstat(pipe)
