"""Containers never outlive their worker: a small guard process removes them if it dies.

A worker that stops hard (a second SIGTERM, or the grace period running out)
kills its job process groups and calls ``os._exit`` at once, and ``kill -9`` or a
crash gives no warning at all. No code in the worker can be relied on to remove
running containers then. So the first docker run in a worker process starts a
guard: ``python -m lava_docker.reaper``, in its own session, reading one line per
event on a pipe from the worker:

* ``+<TAB>name<TAB>address`` before a container is created;
* ``-<TAB>name`` after it has been removed.

When the pipe closes (the worker process has ended, however it ended), the
guard force-removes every container still listed, which also kills it, and
exits. A worker that ends normally has none listed, so the guard just exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

log = logging.getLogger("lava.docker")


class ContainerGuard:
    """This process's link to its guard process (one per worker process, started on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._live: dict[str, str] = {}

    def track(self, name: str, address: str) -> None:
        """Call before creating container ``name`` on the engine at ``address``."""
        with self._lock:
            self._live[name] = address
            self._send(f"+\t{name}\t{address}\n")

    def untrack(self, name: str) -> None:
        """Call once container ``name`` is gone."""
        with self._lock:
            if self._live.pop(name, None) is not None:
                self._send(f"-\t{name}\n")

    def _send(self, line: str) -> None:
        for _ in range(2):
            stdin, fresh = self._ensure_started()
            if stdin is None:
                return
            # A new guard (first use, or the old one died) gets the whole current list instead.
            text = "".join(f"+\t{n}\t{a}\n" for n, a in self._live.items()) if fresh else line
            try:
                stdin.write(text.encode())
                stdin.flush()
                return
            except OSError:
                self._proc = None  # the guard died: start another one
        log.warning("container guard unavailable: containers may outlive a worker that stops hard")

    def _ensure_started(self) -> tuple[IO[bytes] | None, bool]:
        """The guard's pipe, and whether the guard was just started."""
        proc = self._proc
        if proc is not None and self._owner_pid == os.getpid() and proc.poll() is None:
            return proc.stdin, False
        package_root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen([sys.executable, "-m", "lava_docker.reaper", str(os.getpid())],  # noqa: S603 - our module
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    env={**os.environ, "PYTHONPATH": path}, start_new_session=True)
        except OSError as exc:
            log.warning("cannot start the container guard (%s): containers may outlive a worker that stops hard",
                        exc)
            return None, False
        self._proc = proc
        self._owner_pid = os.getpid()
        return proc.stdin, True


GUARD = ContainerGuard()


def remove_left(live: dict[str, str], worker_pid: str) -> int:
    """Force-remove the listed containers; returns how many were removed."""
    import docker  # noqa: PLC0415 - imported only when there is something to remove
    from docker.errors import NotFound  # noqa: PLC0415

    removed = 0
    for name, address in live.items():
        try:
            client = docker.from_env(environment={**os.environ, "DOCKER_HOST": address}, timeout=30)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            _say(f"cannot reach {address} to remove container {name}: {exc}")
            continue
        try:
            client.api.remove_container(name, force=True)
            removed += 1
            _say(f"removed container {name} left running by worker process {worker_pid}")
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            _say(f"cannot remove container {name} at {address}: {exc}")
        finally:
            client.close()
    return removed


def _say(text: str) -> None:
    with contextlib.suppress(OSError):
        print(f"lava-docker guard: {text}", file=sys.stderr, flush=True)


def main() -> int:
    """Read the worker's events until the pipe closes, then remove what is still listed."""
    live: dict[str, str] = {}
    for raw in sys.stdin.buffer:
        fields = raw.decode(errors="replace").rstrip("\n").split("\t")
        if fields[0] == "+" and len(fields) == 3:
            live[fields[1]] = fields[2]
        elif fields[0] == "-" and len(fields) == 2:
            live.pop(fields[1], None)
    if live:
        remove_left(live, sys.argv[1] if len(sys.argv) > 1 else "?")
    return 0


if __name__ == "__main__":
    sys.exit(main())
