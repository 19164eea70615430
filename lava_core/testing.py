"""Pytest fixtures and helpers for lava and for third-party plugin authors.

Installed as a pytest plugin (entry point ``pytest11``), so any project that has
lava-core installed gets these fixtures:

* ``lava_realm`` — a fresh local realm in a temporary folder (a real SQLite file).
* ``lava_moto_server`` — a real moto server process on 127.0.0.1 for the whole session;
  points boto3 (and every subprocess) at it with ``AWS_ENDPOINT_URL``.
* ``lava_aws_realm`` — a fresh AWS realm on that server (state reset before each test).
* ``lava_backend`` — parametrised: the same test runs on the local realm and on AWS.
* ``lava_host`` — a plugin host with every installed plugin.
* ``lava_worker`` — a factory that starts real ``lava worker run`` processes.

Helpers: :func:`put_jobs`, :func:`drain` (run a worker in-process until the
queue is empty), :func:`run_cli` (the ``lava`` CLI in a subprocess).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lava_core.backend import Backend
from lava_core.backend.local import LocalBackend
from lava_core.errors import BackendError
from lava_core.motoserver import MotoServer, restore_environment, use_moto_server
from lava_core.plugins import PluginHost
from lava_core.records import TERMINAL_STATUSES, Event
from lava_core.worker import Worker, WorkerOptions


def put_jobs(backend: Any, *specs: dict[str, Any]) -> None:
    """Store job specs, filling lava's usual required fields (``enabled`` true, fleet ``core``)."""
    full = [{"worker": "core", "enabled": True, **spec} for spec in specs]
    backend.put_jobs(full)


def drain(backend: Any, fleet: str = "core", *, host: PluginHost | None = None, threads: int = 2,
          visibility: float = 30, tmpdir: Path | None = None) -> Worker:
    """Run a worker in this process until its queue is empty and every job has finished."""
    worker = Worker(backend, host or PluginHost(),
                    WorkerOptions(fleet=fleet, threads=threads, drain=True, visibility=visibility, wait=0.2,
                                  tmpdir=tmpdir, install_signals=False))
    worker.run()
    return worker


def wait_for_status(backend: Any, job_id: str, run_id: str, statuses: set[str] | frozenset[str] = TERMINAL_STATUSES,
                    timeout: float = 30) -> Event:
    """Poll the events table until the run reaches one of ``statuses``; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    event = None
    while time.monotonic() < deadline:
        event = backend.get_event(job_id, run_id)
        if event is not None and event.status in statuses:
            return event
        time.sleep(0.05)
    pytest.fail(f"run {job_id}/{run_id} did not reach {sorted(statuses)} in {timeout}s (last: {event})")


def lava_command() -> list[str]:
    """How to invoke the CLI of the running interpreter's environment."""
    return [sys.executable, "-m", "lava_core.cli.main"]


def run_cli(*args: str, realm: Path | str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``lava ARGS`` in a subprocess and capture its output."""
    command = [*lava_command(), *(["--realm", str(realm)] if realm else []), *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,  # noqa: S603 - our own CLI
                          env={**os.environ, **(env or {})}, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"lava {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class WorkerProcess:
    """A real ``lava worker run`` process; its stderr is kept in a file for assertions."""

    def __init__(self, realm: Path | str, fleet: str, log_path: Path, args: list[str], env: dict[str, str]) -> None:
        self.log_path = log_path
        command = [*lava_command(), "--realm", str(realm), "worker", "run", "--worker", fleet, *args]
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,  # noqa: S603 - our own CLI
                                     env={**os.environ, **env}, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        """SIGKILL the worker only (its job processes are in their own sessions)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def lava_realm(tmp_path: Path) -> Iterator[LocalBackend]:
    """A fresh local realm (real SQLite database and folders) under the test's tmp_path."""
    backend = LocalBackend.init(tmp_path / "realm")
    yield backend
    backend.close()


@pytest.fixture
def lava_host() -> PluginHost:
    """A plugin host with every installed plugin."""
    return PluginHost()


@pytest.fixture
def lava_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: ``lava_worker(realm, fleet="core", *extra_args, **env)`` starts a worker process.

    ``realm`` is a backend (local or AWS) or a realm folder.
    """
    started: list[WorkerProcess] = []

    def start(realm: Path | Backend, fleet: str = "core", *args: str, **env: str) -> WorkerProcess:
        spec = realm.describe() if isinstance(realm, Backend) else str(realm)
        log_path = tmp_path / f"worker-{len(started)}.log"
        worker = WorkerProcess(spec, fleet, log_path, list(args), {"LAVA_TMPDIR": str(tmp_path / "wtmp"), **env})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# ---------------------------------------------------------------------- AWS on a moto server
TEST_FLEETS = ("core", "batch", "gpu", "other")


@pytest.fixture(scope="session")
def lava_moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real moto server for the session; boto3 here and in subprocesses talks to it, never to AWS."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.start()
    except BackendError as exc:
        pytest.fail(str(exc))
    saved = use_moto_server(server.endpoint)
    yield server
    restore_environment(saved)
    server.stop()


@pytest.fixture
def lava_aws_realm(lava_moto_server: MotoServer) -> Iterator[Backend]:
    """A fresh AWS realm ``test`` (tables, bucket, queues of the test fleets) on a reset moto server."""
    from lava_core.backend.aws import AwsBackend  # noqa: PLC0415 - boto3 only for AWS tests
    from lava_core.backend.aws_setup import init_aws_realm  # noqa: PLC0415

    lava_moto_server.reset()
    init_aws_realm("test", bucket="lava-test", fleets=TEST_FLEETS)
    backend = AwsBackend("test")
    yield backend
    backend.close()


@pytest.fixture(params=["local", "aws"])
def lava_backend(request: pytest.FixtureRequest) -> Backend:
    """The backend contract: a test using this runs once on a local realm and once on AWS (moto)."""
    return request.getfixturevalue("lava_realm" if request.param == "local" else "lava_aws_realm")
