"""Run one command under limits; kill the whole tree on a limit or an emergency stop."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psutil

from .limits import Limits


@dataclass
class Execution:
    exit_code: int | None
    signal: int | None
    limit_hit: (
        str | None
    )  # set by the runner itself: wall_time, output, processes, emergency_stop, cpu
    duration_ms: float
    cpu_s: float
    max_rss_kb: int
    output: str
    output_bytes: int


PROGRESS_EVERY_S = 1.0
# pytest's progress lines ("..F.s   [ 40%]"): one character per test.
PROGRESS_LINE = re.compile(rb"^([.FEsxX]+)\s*(\[\s*\d+%\])?\s*$", re.M)


def _tail(out: BinaryIO, size: int) -> bytes:
    """The last `size` bytes of the output, read through the worker's own descriptor."""
    end = os.fstat(out.fileno()).st_size
    return os.pread(out.fileno(), size, max(0, end - size))


def count_progress(out: BinaryIO) -> tuple[int, int]:
    """(tests run, failures) so far, read from pytest's progress characters in the output."""
    data = _tail(out, 256 * 1024)
    marks = b"".join(m.group(1) for m in PROGRESS_LINE.finditer(data))
    return len(marks), marks.count(b"F") + marks.count(b"E")


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


@contextlib.contextmanager
def _exit_notice(pid: int) -> Iterator[int | None]:
    """A pidfd that becomes readable when `pid` exits (Linux 5.3+), or None where there is none."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _largest_rss(processes: list[psutil.Process]) -> int:
    """The largest resident set in the tree (a sum would count forked, shared pages again)."""
    largest = 0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            largest = max(largest, proc.memory_info().rss)
    return largest


def _kill_tree(pid: int, known: list[psutil.Process]) -> None:
    # The process group first (PARTIAL/NONE), then every descendant we saw (a test may have
    # left the group), then the leader: with bwrap or unshare the PID namespace dies with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for proc in [*known, *_tree(pid)]:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _killed_on_the_way_out(pid: int, seen: list[psutil.Process]) -> Iterator[None]:
    """The task's time limit (or anything else) interrupting the wait kills the tree too."""
    try:
        yield
    except BaseException:
        _kill_tree(pid, seen)
        with contextlib.suppress(ChildProcessError):
            os.wait4(pid, 0)
        raise


def execute(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    limits: Limits,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[float, BinaryIO], None] | None = None,
) -> Execution:
    """Run `argv`; its output goes to an unlinked file of the worker's: no path the tests could
    replace (with a link to a host file, say) is ever read back."""
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_S
    max_output = limits.max_output_kb * 1024
    limit_hit: str | None = None
    seen: list[psutil.Process] = []
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the backend, never a shell string
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=limits.preexec(),  # noqa: PLW1509
        )
        tick, next_census, next_stop_poll = 0.002, started + 0.05, started + 0.05
        with _exit_notice(proc.pid) as exited, _killed_on_the_way_out(proc.pid, seen):
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                now = time.monotonic()
                if now - started > limits.wall_time_s:
                    limit_hit = "wall_time"
                elif os.fstat(out.fileno()).st_size > max_output:
                    limit_hit = "output"
                elif now >= next_stop_poll:
                    next_stop_poll = now + 0.1
                    if should_stop():
                        limit_hit = "emergency_stop"
                if limit_hit is None and now >= next_census:
                    next_census = now + 0.05
                    seen = _tree(proc.pid)
                    if len(seen) > limits.max_processes + 3:  # bwrap, its init and the shell
                        limit_hit = "processes"
                    elif _largest_rss(seen) > limits.memory_mb * 1024 * 1024:
                        limit_hit = "memory"
                if on_progress is not None and limit_hit is None and now >= next_progress:
                    next_progress = now + PROGRESS_EVERY_S
                    with contextlib.suppress(Exception):  # progress is informative; never fatal
                        on_progress(now - started, out)
                if limit_hit is not None:
                    _kill_tree(proc.pid, seen)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                # Sleep until the next check is due, or until the command exits (the pidfd becomes
                # readable), whichever comes first: no polling latency on the common path.
                if exited is not None:
                    select.select([exited], [], [], tick)
                else:
                    time.sleep(tick)
                tick = min(tick * 1.5, 0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        size = os.fstat(out.fileno()).st_size
        tail = _tail(out, 64 * 1024).decode("utf-8", "replace")
    # Anything of the tree still alive (a daemon that left the group under NONE) dies too.
    if any(p.is_running() for p in seen):
        _kill_tree(proc.pid, seen)
    sig = (
        -proc.returncode
        if proc.returncode < 0
        else (proc.returncode - 128 if proc.returncode > 128 else None)
    )
    cpu = usage.ru_utime + usage.ru_stime
    if limit_hit is None and sig in (signal.SIGXCPU, signal.SIGKILL) and cpu >= limits.cpu_s - 0.5:
        limit_hit = "cpu"
    return Execution(
        exit_code=proc.returncode,
        signal=sig,
        limit_hit=limit_hit,
        duration_ms=(time.monotonic() - started) * 1000,
        cpu_s=cpu,
        max_rss_kb=usage.ru_maxrss,
        output=tail,
        output_bytes=size,
    )
