"""The dispatcher host: its crontab command, what its cron daemon can do, its zone, and the lava command.

Settings (env ``LAVA_<NAME>``, else the realm's ``config``):

* ``LAVASCHED_CRONTAB``: the crontab command as shell words (default ``crontab``
  from PATH), e.g. ``/usr/bin/crontab`` or ``crontab -u lava``.
* ``LAVASCHED_CRON_TZ``: ``yes`` or ``no``, whether the host's cron honours
  ``CRON_TZ``; unset means look at the cron daemon binary.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shlex
import shutil
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from attrs import define

from lava_core import JobError, RunContext, SpecError
from lava_core.cli.main import build_parser
from lava_core.cli.runs import request_tokens
from lava_core.dispatch import parse_cli_tokens
from lava_core.procs import run_process

CRON_DAEMONS = ("/usr/sbin/cron", "/usr/sbin/crond", "/sbin/crond", "/usr/bin/crond", "/usr/local/sbin/crond")
DAEMON_NAMES = frozenset({"cron", "crond"})
LOCALTIME = Path("/etc/localtime")
# Zones that are UTC by definition (offset 0, no DST), whatever their abbreviation.
UTC_ZONES = frozenset({"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich",
                       "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0",
                       "Etc/GMT-0", "Etc/Greenwich"})
_YES = frozenset({"yes", "y", "true", "t", "1", "on"})
_NO = frozenset({"no", "n", "false", "f", "0", "off"})
CRONTAB_TIMEOUT = 60.0
LOCK_TIMEOUT = 120.0


# ---------------------------------------------------------------------- CRON_TZ support
@define(frozen=True)
class CronTzSupport:
    """Whether the host's cron reads ``CRON_TZ``, and how that was found out."""

    honoured: bool
    how: str


def cron_tz_support(setting: Any = None, *, proc: Path = Path("/proc")) -> CronTzSupport:
    """``LAVASCHED_CRON_TZ`` when set, else whether the cron daemon binary knows the string ``CRON_TZ``.

    cronie has ``CRON_TZ``; Debian's Vixie cron and busybox crond do not. The
    daemon is the running ``cron``/``crond`` process if one can be seen, else
    the first installed one. When none is found, ``CRON_TZ`` is taken as
    ignored: the safe answer, since lavasched then refuses to rely on it.
    """
    if setting not in (None, ""):
        text = str(setting).strip().lower()
        if text in _YES:
            return CronTzSupport(honoured=True, how=f"LAVASCHED_CRON_TZ={setting}")
        if text in _NO:
            return CronTzSupport(honoured=False, how=f"LAVASCHED_CRON_TZ={setting}")
        msg = f"the LAVASCHED_CRON_TZ setting must be yes or no, got {setting!r}"
        raise ValueError(msg)
    daemon = find_cron_daemon(proc=proc)
    if daemon is None:
        return CronTzSupport(honoured=False, how="no cron daemon found (none running, none at "
                                                  f"{', '.join(CRON_DAEMONS)}): taken as ignoring CRON_TZ")
    if mentions_cron_tz(daemon):
        return CronTzSupport(honoured=True, how=f"{daemon} knows CRON_TZ")
    return CronTzSupport(honoured=False, how=f"{daemon} has no CRON_TZ in it")


def mentions_cron_tz(binary: Path) -> bool:
    """Whether the file holds the bytes ``CRON_TZ`` (read in chunks: busybox is a few MB)."""
    needle, tail = b"CRON_TZ", b""
    with binary.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle):]
    return False


def find_cron_daemon(*, proc: Path = Path("/proc")) -> Path | None:
    """The running cron daemon's executable when visible, else the first installed daemon, else None."""
    for entry in proc.glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() in DAEMON_NAMES:
                return Path(str((entry / "exe").readlink()).removesuffix(" (deleted)"))
        except OSError:
            continue  # gone meanwhile, or not ours to look at
    for candidate in CRON_DAEMONS:
        path = Path(candidate)
        if path.is_file():
            return path.resolve()  # busybox crond is a link to busybox itself
    return None


# ---------------------------------------------------------------------- zones
def _zone_file(name: str) -> bytes | None:
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            return path.read_bytes()
    return None


def host_zone_name() -> str:
    """The zone cron's wall clock follows: what ``/etc/localtime`` points at (UTC when there is none)."""
    if not LOCALTIME.exists():
        return "UTC"
    if LOCALTIME.is_symlink():
        return str(LOCALTIME.resolve()).split("zoneinfo/", 1)[-1]
    return "the zone in /etc/localtime"


def is_host_zone(name: str) -> bool:
    """Whether crontab times in zone ``name`` are read exactly as the host's cron reads its own.

    True when ``name`` is the host's zone (same zone data as ``/etc/localtime``,
    so links such as US/Eastern = America/New_York count) or both are UTC.
    """
    host = LOCALTIME.read_bytes() if LOCALTIME.exists() else None
    utc_data = {data for zone in UTC_ZONES if (data := _zone_file(zone)) is not None}
    host_is_utc = host is None or host in utc_data or host_zone_name() in UTC_ZONES
    if name in UTC_ZONES:
        return host_is_utc
    data = _zone_file(name)
    return data is not None and host is not None and data == host


# ---------------------------------------------------------------------- the lava command
def lava_command() -> list[str]:
    """How cron runs this environment's CLI: the ``lava`` script beside the interpreter, by absolute path.

    Falls back to ``<python> -m lava_core.cli.main`` when there is no script.
    The interpreter path is kept as it is (not resolved), since a virtual
    environment is recognised by it.
    """
    python = str(Path(sys.executable).absolute())
    script = Path(python).parent / "lava"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [python, "-m", "lava_core.cli.main"]


def dispatch_args_problem(args: list[str]) -> str | None:
    """Why ``lava dispatch`` would refuse ``args`` (so every cron line would fail, into the log only), or None.

    Checked with the CLI's own parser and request parser.
    """
    placeholder, job = "lavasched-fleet", "lavasched-job"
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parsed = build_parser().parse_args(["dispatch", "--worker", placeholder, *args, job])
    except SystemExit:
        why = (stderr.getvalue().strip().splitlines() or ["refused"])[-1].removeprefix("lava: error: ")
        if job in why:
            why = "a word that is not an option or its value (lavasched adds the job id itself)"
        return f"`lava dispatch` refuses them: {why}"
    if parsed.worker != placeholder:
        return "--worker is set by lavasched to each job's worker"
    try:
        parse_cli_tokens(request_tokens(parsed))
    except (ValueError, SpecError) as exc:
        return f"`lava dispatch` refuses them: {exc}"
    return None


def default_path() -> str:
    """PATH for the crontab when ``env`` sets none: this environment's bin folder first."""
    return f"{Path(sys.executable).absolute().parent}:/usr/local/bin:/usr/bin:/bin"


def default_log() -> str:
    return str(Path(tempfile.gettempdir()) / "lava-dispatch.log")


# ---------------------------------------------------------------------- the crontab command
@define(frozen=True)
class Crontab:
    """The user's crontab through the ``crontab`` command (``-l`` to read, ``FILE`` to install)."""

    argv: list[str]

    @classmethod
    def from_setting(cls, value: Any) -> Crontab:
        words = shlex.split(str(value)) if value not in (None, "") else ["crontab"]
        found = shutil.which(words[0]) if words else None
        if found is None:
            msg = (f"no crontab command {words[0] if words else value!r} on this host "
                   "(install cron, e.g. scripts/infra/cron.sh on Debian, or set LAVASCHED_CRONTAB)")
            raise JobError(msg, data={"exit_status": 1})
        return cls([str(Path(found).absolute()), *words[1:]])

    def describe(self) -> str:
        return shlex.join(self.argv)

    def read(self, run: RunContext) -> str:
        """The installed crontab ('' when there is none); any other failure is an error, never ''."""
        code, out, err = self._run(run, "-l")
        if code == 0:
            return out.decode("utf-8", "surrogateescape")
        if code == 1 and "no crontab for" in err:
            return ""
        msg = f"cannot read the crontab: `{self.describe()} -l` exited {code}: {err or '(no message)'}"
        raise JobError(msg, data={"exit_status": code})

    def install(self, run: RunContext, text: str) -> None:
        name = "crontab.install"
        (run.workdir / name).write_bytes(text.encode("utf-8", "surrogateescape"))
        # Named relative to the working folder: Debian's crontab silently cuts a file name at 100
        # characters and then cannot find the file.
        code, _, err = self._run(run, name)
        if code != 0:
            msg = (f"Could not install the new crontab: `{self.describe()} FILE` exited {code}: "
                   f"{err or '(no message)'}. The old crontab is unchanged.")
            raise JobError(msg, data={"exit_status": code})

    def _run(self, run: RunContext, arg: str) -> tuple[int, bytes, str]:
        env = {**os.environ, "LC_ALL": "C"}  # English messages: "no crontab for <user>" is matched
        outcome = run_process([*self.argv, arg], cwd=run.workdir, env=env, timeout=CRONTAB_TIMEOUT,
                              spill_dir=run.workdir, registry=run.services.processes, spill_prefix="crontab.")
        err = outcome.stderr.tail(4000).decode("utf-8", "replace").strip()
        if outcome.timed_out:
            return 124, b"", f"timed out after {CRONTAB_TIMEOUT:g}s"
        return outcome.exit_status, outcome.stdout.getvalue(), err


@contextlib.contextmanager
def crontab_lock() -> Iterator[None]:
    """One lavasched run at a time per user on this host, so two runs never interleave read and install."""
    path = Path(tempfile.gettempdir()) / f"lava-lavasched-{os.getuid()}.lock"
    deadline = time.monotonic() + LOCK_TIMEOUT
    with path.open("a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    msg = f"another lavasched run has held {path} for {LOCK_TIMEOUT:g}s; crontab left unchanged"
                    raise JobError(msg, data={"exit_status": 1}) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
