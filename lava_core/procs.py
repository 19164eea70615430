"""Running a job's process tree: own session, timeout kills the whole group, output to files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from attrs import define

TIMEOUT_EXIT_STATUS = 28  # what lava reports for a run killed by its timeout


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


@define(frozen=True)
class ProcessResult:
    exit_status: int
    timed_out: bool
    elapsed: float
    stdout_path: Path
    stderr_path: Path


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_process(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float | None,
                stdout_path: Path, stderr_path: Path, registry: ProcessRegistry | None = None) -> ProcessResult:
    """Run ``argv`` in a new session with stdin from /dev/null.

    On timeout the whole process group is SIGKILLed. After the leader exits the
    group is killed anyway, so background children never outlive the job.
    """
    started = time.monotonic()
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,  # noqa: S603 - running the job's command is the point
                                start_new_session=True)
    if registry is not None:
        registry.add(proc.pid)
    timed_out = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid)
            proc.wait()
    finally:
        _killpg(proc.pid)
        if registry is not None:
            registry.discard(proc.pid)
    status = TIMEOUT_EXIT_STATUS if timed_out else proc.returncode
    if status < 0:  # killed by a signal: report it the way a shell would
        status = 128 - status
    return ProcessResult(status, timed_out, time.monotonic() - started, stdout_path, stderr_path)


def tail_text(path: Path, limit: int = 2000) -> str | None:
    """The last ``limit`` bytes of a file as text, stripped; None when empty."""
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(max(0, size - limit))
        text = fh.read().decode("utf-8", errors="replace").strip()
    return text or None
