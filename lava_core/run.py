"""What a job type sees while it runs: the run context and the services behind it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import define, field

from lava_core.procs import ProcessRegistry
from lava_core.records import EventEntry, iso, naive_utc, now_local
from lava_core.render import render_obj, render_str, utils
from lava_core.units import parse_duration

if TYPE_CHECKING:
    from lava_core.backend import Backend
    from lava_core.plugins import PluginHost
    from lava_core.records import Job, Realm

DEFAULT_EVENT_TTL = 2 * 86400.0


@define
class Services:
    """Everything a worker shares between the runs it executes."""

    backend: Backend
    host: PluginHost
    realm: Realm
    worker: str
    tmpdir: Path
    processes: ProcessRegistry = field(factory=ProcessRegistry)
    stopping: threading.Event = field(factory=threading.Event)
    hostname: str = field(factory=socket.gethostname)
    keep_failed: bool = False
    base_env: dict[str, str] = field(factory=lambda: dict(os.environ))
    held_events: set[EventRecorder] = field(factory=set)

    def scratch_dir(self) -> Path:
        """This thread's scratch folder: made once, emptied after each run.

        Creating and removing a folder per run costs more than a trivial job on a
        journaled disk, so each job thread keeps one.
        """
        return self.tmpdir / f"scratch-{threading.current_thread().name}"

    def setting(self, name: str, default: Any = None) -> Any:
        return realm_setting(self.realm, name, default)

    def event_ttl(self) -> float:
        return event_ttl(self.realm)


def realm_setting(realm: Realm, name: str, default: Any = None) -> Any:
    """A config value: env ``LAVA_<NAME>``, else the realm's ``config``, else ``default``."""
    env = os.environ.get(f"LAVA_{name}")
    if env is not None:
        return env
    return realm.config.get(name.upper(), realm.config.get(name.lower(), default))


def event_ttl(realm: Realm) -> float:
    """Seconds an event item lives (``EVENT_TTL``, default 2d); 0 means no ``ttl`` attribute."""
    value = realm_setting(realm, "EVENT_TTL", DEFAULT_EVENT_TTL)
    return parse_duration(value) if value not in ("", None) else 0.0


class EventRecorder:
    """Writes a run's event item: top-level fields plus one log entry per step.

    A step may be *held* (``defer=True``) and written together with the next one:
    a quick job's ``starting``, ``running`` and ``complete`` then cost one write.
    A held step never waits long: :class:`HeldEventFlusher` writes any step held
    longer than :data:`HOLD_SECONDS`, so a long run shows ``running`` at once.
    """

    def __init__(self, services: Services, job_id: str, run_id: str, ts_dispatch: str | None,
                 lineage: dict[str, str] | None = None) -> None:
        self.services = services
        self.job_id = job_id
        self.run_id = run_id
        self.ts_dispatch = ts_dispatch
        self.lineage = lineage or {}
        self.last_status: str | None = None
        self._ttl = services.event_ttl()
        self._pending: list[EventEntry] = []
        self._held_since = 0.0
        self._wrote = False
        self._lock = threading.Lock()

    def record(self, status: str, info: Any = None, *, keep_status: bool = False, defer: bool = False) -> datetime:
        """Append a step; ``keep_status`` leaves the item's status as it was (action failures)."""
        ts = now_local()
        entry = EventEntry(status=status, info=info, ts_event=iso(ts), tu_event=naive_utc(ts))
        with self._lock:
            if defer:
                if not self._pending:
                    self._held_since = time.monotonic()
                    self.services.held_events.add(self)
                self._pending.append(entry)
                self.last_status = status
                return ts
            self._write([*self._pending, entry], ts, status, keep_status=keep_status)
        return ts

    def flush_held(self, older_than: float = 0.0) -> None:
        """Write the held steps if they have waited ``older_than`` seconds or more."""
        with self._lock:
            if self._pending and time.monotonic() - self._held_since >= older_than:
                last = self._pending[-1]
                self._write(list(self._pending), datetime.fromisoformat(last.ts_event), last.status, keep_status=False)

    def _write(self, entries: list[EventEntry], ts: datetime, status: str, *, keep_status: bool) -> None:
        self._pending = []
        self.services.held_events.discard(self)
        last = entries[-1]
        fields: dict[str, Any] = {"ts_event": last.ts_event, "tu_event": last.tu_event}
        if not self._wrote:
            # Fields that do not change during a run go with its first write only.
            fields.update(ts_dispatch=self.ts_dispatch, worker=self.services.worker,
                          hostname=self.services.hostname, worker_id=None, **self.lineage)
            self._wrote = True
        if self._ttl:
            fields["ttl"] = int(ts.timestamp() + self._ttl)
        if not keep_status or len(entries) > 1 or self.last_status is None:
            fields["status"] = status
            self.last_status = status
        self.services.backend.record_event(self.job_id, self.run_id, entries, fields)


HOLD_SECONDS = 0.2


class HeldEventFlusher(threading.Thread):
    """Writes event steps held back longer than :data:`HOLD_SECONDS` (runs in every worker)."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="lava-events", daemon=True)
        self.services = services
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(HOLD_SECONDS / 2):
            self.flush(HOLD_SECONDS)
        self.flush(0.0)

    def flush(self, older_than: float) -> None:
        for recorder in list(self.services.held_events):
            try:
                recorder.flush_held(older_than)
            except Exception:
                logging.getLogger("lava.run").exception("writing held event steps failed")


@define
class RunContext:
    """One run of one job, as handed to the job type's ``run``.

    ``job`` is the merged spec (dispatch overrides applied); ``globals`` holds
    the merged globals including lava's own ``globals.lava``.
    """

    job: Job
    run_id: str
    ts_dispatch: datetime | None
    start: datetime
    services: Services
    globals: dict[str, Any]
    state: dict[str, Any]
    workdir: Path
    recorder: EventRecorder
    parent: RunContext | None = None
    iteration: int = 0
    log: logging.LoggerAdapter[logging.Logger] = field(
        default=logging.LoggerAdapter(logging.getLogger("lava.run")))
    _job_view: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def ustart(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def worker(self) -> str:
        return self.services.worker

    @property
    def backend(self) -> Backend:
        return self.services.backend

    @property
    def realm(self) -> Realm:
        return self.services.realm

    def setting(self, name: str, default: Any = None) -> Any:
        return self.services.setting(name, default)

    def render_vars(self, **extra: Any) -> dict[str, Any]:
        """The standard Jinja variables: job, realm, globals, state, start, ustart, utils, plus extras."""
        if self._job_view is None:
            self._job_view = {**self.job.to_dict(), "parameters": self.job.parameters, "globals": self.globals,
                              "run_id": self.run_id, "realm": self.realm.realm, "ts_dispatch": self.ts_dispatch,
                              "ts_start": self.start, "ts_ustart": self.ustart, "state": self.state}
        return {"job": self._job_view, "realm": _realm_view(self.realm), "globals": self.globals,
                "state": self.state, "start": self.start, "ustart": self.ustart, "utils": utils,
                "run_id": self.run_id, **extra}

    def render(self, source: str, *, where: str, **extra: Any) -> str:
        if "{" not in source:
            return source  # nothing to render: skip building the variables
        return render_str(source, self.render_vars(**extra), where=where)

    def render_args(self, args: list[Any], *, jinja: bool, where: str, **extra: Any) -> list[str]:
        """Each argument rendered on its own (``where[i]`` in errors), so a value with spaces stays one argv element."""
        texts = [str(arg) for arg in args]
        if not jinja:
            return texts
        return [self.render(text, where=f"{where}[{index}]", **extra) for index, text in enumerate(texts)]

    def render_obj(self, value: Any, *, where: str, **extra: Any) -> Any:
        return render_obj(value, self.render_vars(**extra), where=where)

    def save_output(self, name: str, data: bytes) -> str:
        """Store an output object under this run (``<job_id>/<run_id>/<name>``); returns its URI."""
        return self.backend.put_output(self.job.job_id, self.run_id, name, data)

    def lava_env(self) -> dict[str, str]:
        """``LAVA_*`` variables lava gives every process it starts."""
        return {"LAVA_REALM": self.realm.realm, "LAVA_WORKER": self.worker, "LAVA_JOB_ID": self.job.job_id,
                "LAVA_RUN_ID": self.run_id, "LAVA_OWNER": self.job.owner,
                "LAVA_S3_TMP": f"{self.realm.s3_temp}/{self.job.job_id}/{self.run_id}"}


def _realm_view(realm: Realm) -> dict[str, Any]:
    return {"realm": realm.realm, "s3_payloads": realm.s3_payloads, "s3_temp": realm.s3_temp,
            "config": realm.config}


@define
class ActionContext:
    """What a post-job action sees: the run, the trigger (``on_fail``…) and the result."""

    run: RunContext
    key: str
    status: str
    result: dict[str, Any] | None

    def render_vars(self) -> dict[str, Any]:
        return self.run.render_vars(result=self.result or {}, status=self.status)

    def render(self, source: str, *, where: str) -> str:
        return render_str(source, self.render_vars(), where=where)

    def render_obj(self, value: Any, *, where: str) -> Any:
        return render_obj(value, self.render_vars(), where=where)
