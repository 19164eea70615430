"""Running a job's process tree: own session, output through pipes, the group killed at the end.

* stdout and stderr are read through pipes into memory and spill to a file in
  the run folder only past ``SPILL_BYTES``, so a small job costs no file I/O.
* The leader's exit is watched through a pidfd, so there is no sleep-polling.
  On timeout, or as soon as the leader exits, the whole process group is
  SIGKILLed: background children never outlive the job.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from attrs import define

TIMEOUT_EXIT_STATUS = 28  # what lava reports for a run killed by its timeout
SPILL_BYTES = 1 << 20
_READ_SIZE = 1 << 16


class ProcessRegistry:
    """Process groups running for jobs in this worker, so a hard stop can kill them all."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()
        self.killing = threading.Event()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def kill_all(self) -> int:
        """SIGKILL every registered group; returns how many there were."""
        self.killing.set()
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            _killpg(pgid)
        return len(groups)


class SpawnGuard:
    """Process-wide guard between starting processes and writing executables.

    A child forked while another thread has a file open for writing inherits that
    descriptor until it execs (close-on-exec does not help in between), and
    exec'ing the file then fails with "Text file busy". Spawns share this guard;
    writing an executable holds it alone. ``Popen`` returns only after the child
    has exec'd, so once a writer has the guard no child holds its descriptor.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._spawning = 0
        self._writing = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._spawning += 1
        try:
            yield
        finally:
            with self._cond:
                self._spawning -= 1
                if not self._spawning:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._spawning:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


SPAWN_GUARD = SpawnGuard()


class Capture:
    """One output stream: bytes in memory, moved to ``spill_path`` once it grows past the limit."""

    def __init__(self, spill_path: Path, limit: int = SPILL_BYTES) -> None:
        self.spill_path = spill_path
        self.limit = limit
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is None and len(self._buffer) + len(data) <= self.limit:
            self._buffer += data
            return
        if self._file is None:
            self._file = self.spill_path.open("wb")
            self._file.write(self._buffer)
            self._buffer = bytearray()
        self._file.write(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def getvalue(self) -> bytes:
        """Everything captured (read back from the spill file if it spilled)."""
        return self.spill_path.read_bytes() if self.spilled else bytes(self._buffer)

    def tail(self, limit: int) -> bytes:
        if not self.spilled:
            return bytes(self._buffer[-limit:])
        with self.spill_path.open("rb") as fh:
            fh.seek(max(0, self.size - limit))
            return fh.read()


@define(frozen=True)
class ProcessResult:
    exit_status: int
    timed_out: bool
    stdout: Capture
    stderr: Capture


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_process(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float | None,
                spill_dir: Path, registry: ProcessRegistry | None = None, spill_prefix: str = "") -> ProcessResult:
    """Run ``argv`` in a new session with stdin from /dev/null and capture both streams."""
    # Raw pipe fds (not Popen's PIPE): no Python file objects to build and close per run.
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        with SPAWN_GUARD.spawning():
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_w,  # noqa: S603 - running the job's command is the point
                                    stderr=err_w, start_new_session=True)
    except BaseException:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(err_w)
    if registry is not None:
        registry.add(proc.pid)
    out = Capture(spill_dir / f".{spill_prefix}stdout")
    err = Capture(spill_dir / f".{spill_prefix}stderr")
    timed_out = False
    try:
        timed_out = _pump(proc, {out_r: out, err_r: err}, timeout)
        proc.wait()
    finally:
        _killpg(proc.pid)
        if registry is not None:
            registry.discard(proc.pid)
        os.close(out_r)
        os.close(err_r)
        out.close()
        err.close()
    status = TIMEOUT_EXIT_STATUS if timed_out else proc.returncode
    if status < 0:  # killed by a signal: report it the way a shell would
        status = 128 - status
    return ProcessResult(status, timed_out, out, err)


def _pump(proc: subprocess.Popen[bytes], sinks: dict[int, Capture], timeout: float | None) -> bool:
    """Read both pipes until they close; kill the group on timeout or when the leader exits."""
    pidfd = os.pidfd_open(proc.pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for fd in sinks:
        poller.register(fd, select.POLLIN)
    open_fds = set(sinks)
    deadline = None if timeout is None else time.monotonic() + timeout
    leader_alive = True
    timed_out = False
    try:
        while open_fds or leader_alive:
            wait_ms = None
            if deadline is not None:
                wait_ms = max(0, int((deadline - time.monotonic()) * 1000) + 1)
            events = poller.poll(wait_ms)
            if not events and deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                deadline = None
                _killpg(proc.pid)
                continue
            for fd, _ in events:
                if fd == pidfd:
                    leader_alive = False
                    poller.unregister(pidfd)
                    _killpg(proc.pid)  # the leader is done: its background children go too
                    continue
                data = os.read(fd, _READ_SIZE)
                if data:
                    sinks[fd].write(data)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
    finally:
        os.close(pidfd)
    return timed_out
