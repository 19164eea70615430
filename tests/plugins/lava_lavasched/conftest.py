"""Debian's real cron for the lavasched tests, or one explicit reason why there is none.

``scripts/test.sh`` installs cron (``scripts/infra/cron.sh``). The tests that
build a crontab use the real ``crontab`` command on this user's crontab (root's
in CI): the whole session holds a lock against other test runs, saves the
crontab first (also to a file, named in the output if restoring fails) and puts
it back at the end, whatever happened. Each test starts from an empty crontab.
Without cron those tests are skipped with the reason, and the end of the pytest
output says either way whether they ran against the real cron.
"""

from __future__ import annotations

import fcntl
import functools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava_core.backend import Backend

# Tests that used the real crontab (the summary line counts these).
USED_CRONTAB: set[str] = set()
SPOOL = Path("/var/spool/cron/crontabs")
USER = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    return lava_backend


@functools.cache
def cron() -> tuple[str | None, str]:
    """``(description, "")`` when Debian's crontab command is here, else ``(None, reason)``."""
    crontab = shutil.which("crontab")
    if crontab is None:
        return None, "no crontab command: install Debian's cron with: bash scripts/infra/cron.sh"
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "cron"], capture_output=True, text=True,
                             check=False).stdout.strip() if shutil.which("dpkg-query") else ""
    return f"{crontab} (cron {version or 'unknown version'}), {USER}'s crontab", ""


class UserCrontab:
    """This user's crontab through the real ``crontab`` command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def read(self) -> bytes | None:
        """The crontab's bytes, or None when there is none (``crontab -l`` exits 1)."""
        proc = subprocess.run([self.command, "-l"], capture_output=True, env={**os.environ, "LC_ALL": "C"},
                              check=False)
        if proc.returncode == 0:
            return proc.stdout
        if proc.returncode == 1 and b"no crontab for" in proc.stderr:
            return None
        pytest.fail(f"crontab -l exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")

    def text(self) -> str:
        return (self.read() or b"").decode()

    def install(self, data: bytes) -> None:
        with tempfile.NamedTemporaryFile("wb", suffix=".crontab") as fh:
            fh.write(data)
            fh.flush()
            proc = subprocess.run([self.command, fh.name], capture_output=True, check=False)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")

    def remove(self) -> None:
        subprocess.run([self.command, "-r"], capture_output=True, check=False)
        assert self.read() is None

    def spool_stat(self) -> tuple[int, bytes] | None:
        """(mtime_ns, bytes) of the installed file, which crontab rewrites (with a new header) on install."""
        path = SPOOL / USER
        try:
            return path.stat().st_mtime_ns, path.read_bytes()
        except OSError:
            return None


@pytest.fixture(scope="session")
def saved_crontab() -> Iterator[UserCrontab | None]:
    """The session's hold on this user's crontab: locked, saved, and always restored."""
    found, _ = cron()
    if found is None:
        yield None
        return
    lock = Path(tempfile.gettempdir()) / f"lava-lavasched-tests-{os.getuid()}.lock"
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # another test run on this machine waits here for ours to end
        user = UserCrontab(shutil.which("crontab") or "crontab")
        saved = user.read()
        backup = Path(tempfile.gettempdir()) / f"lava-lavasched-saved-crontab.{os.getpid()}"
        if saved is not None:
            backup.write_bytes(saved)
        try:
            yield user
        finally:
            if saved is None:
                user.remove()
            else:
                user.install(saved)
                assert user.read() == saved, f"crontab not restored; the saved copy is {backup}"
                backup.unlink()
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture
def crontab(saved_crontab: UserCrontab | None, request: pytest.FixtureRequest) -> UserCrontab:
    """This user's real crontab, emptied for the test (the session puts the original back)."""
    USED_CRONTAB.add(request.node.nodeid)
    if saved_crontab is None:
        pytest.skip(cron()[1])
    saved_crontab.remove()
    return saved_crontab


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line, even with -q, saying whether the tests needing cron ran against the real crontab."""
    reports = {kind: [r for r in terminalreporter.stats.get(kind, []) if getattr(r, "nodeid", "") in USED_CRONTAB]
               for kind in ("passed", "failed", "skipped", "error")}
    if not USED_CRONTAB:
        return
    found, reason = cron()
    if found is None:
        terminalreporter.write_line(f"lava-lavasched: {len(USED_CRONTAB)} crontab tests SKIPPED: {reason}",
                                    yellow=True, bold=True)
    else:
        failed = {r.nodeid for r in reports["failed"] + reports["error"]}
        terminalreporter.write_line(f"lava-lavasched: {len(USED_CRONTAB) - len(failed)} passed, {len(failed)} "
                                    f"failed on the real crontab: {found} (saved before, restored after)", bold=True)
