"""The worker process: job threads that each take a message from the fleet queue when free.

Differences from lava worth knowing:

* A message is taken only when a thread is free to run it, so no message waits
  in an internal queue while its visibility timeout runs down.
* While a job runs, a heartbeat thread keeps extending its message's
  visibility, so a job longer than the visibility timeout is never run twice.
  If the worker dies, the heartbeat stops and the message reappears after at
  most one visibility timeout: another worker runs it (same run_id).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import define

from lava_core.dispatch import Delay, DispatchRequest, send
from lava_core.errors import SpecError
from lava_core.records import load_job
from lava_core.run import HeldEventFlusher, Services
from lava_core.worker.intake import handle_message

if TYPE_CHECKING:
    from lava_core.backend import Backend, ReceivedMessage
    from lava_core.plugins import PluginHost

log = logging.getLogger("lava.worker")

HARD_STOP_EXIT = 143
JUMP_START_DELAY = "15s"  # lava's JUMPSTART_DELAY default; the setting overrides it


@define(kw_only=True)
class WorkerOptions:
    """How a worker runs; the CLI flags of ``lava worker run`` map one to one."""

    fleet: str
    threads: int = 4
    visibility: float = 60.0
    wait: float = 5.0
    drain: bool = False
    grace: float = 30.0
    retries: int = 2
    jump_start: bool = False
    keep_failed: bool = False
    tmpdir: Path | None = None
    install_signals: bool = True


class Worker:
    """One worker process serving one fleet."""

    def __init__(self, backend: Backend, host: PluginHost, options: WorkerOptions) -> None:
        self.backend = backend
        self.options = options
        base = options.tmpdir or Path(os.environ.get("LAVA_TMPDIR") or Path(tempfile.gettempdir()) / "lava")
        realm = backend.get_realm()
        self.tmpdir = base / realm.realm / f"{options.fleet.replace('/', '-')}.{os.getpid()}"
        self.services = Services(backend=backend, host=host, realm=realm, worker=options.fleet,
                                 tmpdir=self.tmpdir, keep_failed=options.keep_failed)
        self._inflight: dict[str, ReceivedMessage] = {}
        self._lock = threading.Lock()
        self._stopping = self.services.stopping
        self._heartbeat_stop = threading.Event()

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        """Serve the queue until stopped (or, with ``drain``, until it is empty); returns the exit code."""
        # Fails fast (BackendError naming the queue) when the fleet has no queue, rather
        # than every job thread logging the same receive error forever.
        self.backend.queue_depth(self.options.fleet)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._install_signals()
        if self.options.jump_start:
            self.jump_start()
        heartbeat = threading.Thread(target=self._heartbeat, name="lava-heartbeat", daemon=True)
        heartbeat.start()
        flusher = HeldEventFlusher(self.services)
        flusher.start()
        log.info("worker %s serving %s of realm %s with %d threads (visibility %gs)",
                 os.getpid(), self.backend.queue_name(self.options.fleet), self.backend.describe(),
                 self.options.threads, self.options.visibility)
        threads = [threading.Thread(target=self._serve, name=f"lava-job_{i}", daemon=True)
                   for i in range(self.options.threads)]
        try:
            for thread in threads:
                thread.start()
            # The main thread only waits, so signal handlers run promptly.
            while any(t.is_alive() for t in threads) and not self._stopping.is_set():
                _first_alive(threads).join(0.2)
            return self._finish(threads)
        finally:
            flusher.stop.set()
            flusher.join(5)
            self.backend.flush()
            self._heartbeat_stop.set()
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def _serve(self) -> None:
        """One job thread: take a message only when free, run it, and settle it with the next take.

        Deleting the finished message and taking the next one is a single backend
        call, which halves the round trips to the realm per run.
        """
        fleet = self.options.fleet
        wait = min(self.options.wait, self.backend.drain_poll_wait) if self.options.drain else self.options.wait
        done: str | None = None  # receipt of a finished message not deleted yet
        while not self._stopping.is_set():
            try:
                messages = self.backend.receive_messages(fleet, max_messages=1, wait=wait,
                                                         visibility=self.options.visibility, delete_first=done)
                done = None
            except Exception:
                log.exception("receiving from %s failed; retrying", self.backend.queue_name(fleet))
                self._stopping.wait(1.0)
                continue
            if not messages:
                # Drained means empty: messages hidden by a dead worker or delayed still count.
                if self.options.drain and not self._inflight and self.backend.queue_depth(fleet) == (0, 0):
                    log.info("queue empty: draining done")
                    return
                continue
            message = messages[0]
            if self._stopping.is_set():
                self.backend.extend_visibility(fleet, message.receipt, 0)  # not started: release it at once
                return
            with self._lock:
                self._inflight[message.receipt] = message
            done = self._process(message)
        if done is not None:
            self.backend.delete_message(fleet, done)

    def _finish(self, threads: list[threading.Thread]) -> int:
        """Let running jobs finish within the grace period; past it, stop hard."""
        if self._inflight:
            log.info("waiting up to %gs for %d running job(s)", self.options.grace, len(self._inflight))
        if not _wait_until(lambda: not any(t.is_alive() for t in threads), self.options.grace):
            log.warning("grace period over with %d job(s) running: stopping hard", len(self._inflight))
            self.hard_stop()
        self.backend.flush()
        return 0

    def _process(self, message: ReceivedMessage) -> str | None:
        """Run one message; returns its receipt when it is to be deleted (the caller settles it)."""
        fleet = self.options.fleet
        try:
            max_receives = self.options.retries + 1 if self.options.retries >= 0 else None
            disposition = handle_message(self.services, message, max_receives=max_receives)
            if self.services.processes.killing.is_set():
                return None  # hard stop: leave the message to reappear
            if disposition.dead_letter_reason is not None:
                self.backend.dead_letter(fleet, message, disposition.dead_letter_reason)
                return None
            return message.receipt
        except Exception:
            log.exception("handling message %s failed; it will be delivered again", message.message_id)
            return None
        finally:
            with self._lock:
                self._inflight.pop(message.receipt, None)

    # ------------------------------------------------------------------ heartbeat
    def _heartbeat(self) -> None:
        interval = max(0.2, self.options.visibility / 3)
        while not self._heartbeat_stop.wait(interval):
            with self._lock:
                receipts = list(self._inflight)
            for receipt in receipts:
                try:
                    if not self.backend.extend_visibility(self.options.fleet, receipt, self.options.visibility):
                        log.warning("message with receipt %s is no longer ours (extended too late?)", receipt)
                except Exception:
                    log.exception("extending visibility failed")

    # ------------------------------------------------------------------ stopping
    def _install_signals(self) -> None:
        if not self.options.install_signals or threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stopping.is_set():
            log.warning("second %s: killing running jobs now", signal.Signals(signum).name)
            self.hard_stop()
            return
        log.info("%s: no new jobs; %d running job(s) may finish within %gs (send again to stop now)",
                 signal.Signals(signum).name, len(self._inflight), self.options.grace)
        self._stopping.set()

    def hard_stop(self) -> None:
        """Kill every job process group and exit at once, leaving their messages to reappear."""
        killed = self.services.processes.kill_all()
        log.warning("killed %d job process group(s); their messages will be delivered again", killed)
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        logging.shutdown()
        os._exit(HARD_STOP_EXIT)

    # ------------------------------------------------------------------ jump start
    def jump_start(self) -> list[str]:
        """Dispatch every enabled lavasched job of this fleet (how a dispatcher builds its first crontab)."""
        run_ids = []
        for spec in self.backend.list_jobs():
            if spec.get("type") != "lavasched" or spec.get("worker") != self.options.fleet:
                continue
            with contextlib.suppress(SpecError):
                job = load_job(spec)
                if job.enabled is True:
                    delay = Delay(self.services.setting("JUMPSTART_DELAY", JUMP_START_DELAY))
                    message = send(self.backend, DispatchRequest(job_id=job.job_id, delay=delay),
                                   worker=job.worker)
                    run_ids.append(message.run_id)
                    log.info("jump-start: dispatched %s (run %s)", job.job_id, message.run_id)
        return run_ids


def _first_alive(threads: list[threading.Thread]) -> threading.Thread:
    return next((t for t in threads if t.is_alive()), threads[0])


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
