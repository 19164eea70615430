"""The records lava stores and sends: job specs, dispatch messages, events, realms.

All are attrs classes structured by the one converter in :mod:`lava_core.convert`,
so a bad field is reported by its path before anything runs.
"""

from __future__ import annotations

import re
import uuid
import time
from datetime import UTC, datetime, tzinfo
from typing import Any

import attrs
from attrs import define, field

from lava_core.convert import Duration, register_record, structure, unstructure
from lava_core.errors import SpecError

ITERATION_MAX_LIMIT = 10
ITERATION_MAX_DELAY = 300.0
RESERVED_PREFIX = "lava"
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@/+-]*$")

# Statuses in lava's vocabulary, in the order a run usually passes through them.
SKIPPED = "skipped"
STARTING = "starting"
REJECTED = "rejected"
LOGGING = "logging"
RUNNING = "running"
RETRYING = "retrying"
FAILED = "failed"
COMPLETE = "complete"
ACTION_FAILED = "action_failed"
STATUSES = (SKIPPED, STARTING, REJECTED, LOGGING, RUNNING, RETRYING, FAILED, COMPLETE, ACTION_FAILED)
TERMINAL_STATUSES = frozenset({SKIPPED, REJECTED, FAILED, COMPLETE})

ACTION_KEYS = ("on_success", "on_fail", "on_retry")


_zone_cache: tuple[float, tzinfo] = (0.0, UTC)


def now_local() -> datetime:
    """The current instant, aware, labelled with this host's UTC offset.

    Looking the zone up costs more than the rest of an event write, so the offset
    is re-read at most every 10 s. The instant is always exact; only the offset
    label can lag a DST change by up to 10 s.
    """
    global _zone_cache  # noqa: PLW0603 - a process-wide cache of one value
    mono = time.monotonic()
    checked, zone = _zone_cache
    if mono - checked > 10:
        zone = datetime.now().astimezone().tzinfo or UTC
        _zone_cache = (mono, zone)
    return datetime.now(zone)


def iso(ts: datetime) -> str:
    """ISO-8601 with offset; lava truncates event times to the second, we keep milliseconds."""
    return ts.isoformat(timespec="milliseconds")


def naive_utc(ts: datetime) -> str:
    """The ``tu_event`` form: the same instant in UTC with no offset (a sortable key)."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_ts(value: str) -> datetime:
    """Parse an ISO-8601 instant; naive values are refused (they would be ambiguous)."""
    ts = datetime.fromisoformat(value)
    if ts.tzinfo is None:
        msg = f"expected a timestamp with a timezone offset, got {value!r}"
        raise ValueError(msg)
    return ts


@define(frozen=True, kw_only=True)
class Job:
    """A row of the jobs table: what to run, where, and what to do afterwards."""

    job_id: str
    type: str
    worker: str
    payload: Any
    enabled: bool | str = False
    owner: str = ""
    description: str = ""
    dispatcher: str | None = None
    schedule: Any = None
    parameters: dict[str, Any] = field(factory=dict)
    globals: dict[str, Any] = field(factory=dict)
    state: dict[str, Any] = field(factory=dict)
    max_tries: int = 0
    max_run_delay: Duration | None = None
    iteration_limit: int = 1
    iteration_delay: Duration = Duration(0)
    event_log: Any = None
    on_success: list[dict[str, Any]] | None = None
    on_fail: list[dict[str, Any]] | None = None
    on_retry: list[dict[str, Any]] | None = None
    cw_metrics: bool | None = None
    extras: dict[str, Any] = field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The table form: only fields that differ from their defaults, plus ``x-*`` extras."""
        data = unstructure(self)
        defaults = {a.name: (a.default.factory() if isinstance(a.default, attrs.Factory) else a.default)
                    for a in attrs.fields(Job)}
        keep = {"job_id", "type", "worker", "payload", "enabled"}
        return {k: v for k, v in data.items()
                if k in keep or k.startswith(("x-", "X-")) or unstructure(defaults.get(k)) != v}


def _job_problems(data: dict[str, Any]) -> list[str]:
    """Checks that cross fields or go beyond types, reported together with type errors."""
    problems = []
    glob = data.get("globals")
    if isinstance(glob, dict):
        problems += [f"$.globals.{k}: global names starting with 'lava' are reserved for lava"
                     for k in glob if isinstance(k, str) and k.lower().startswith(RESERVED_PREFIX)]
    job_id = data.get("job_id")
    if isinstance(job_id, str) and not JOB_ID_RE.match(job_id):
        problems.append(f"$.job_id: {job_id!r} may hold letters, digits and _ . : @ / + - only")
    limit = data.get("iteration_limit")
    if isinstance(limit, int) and not isinstance(limit, bool) and not 1 <= limit <= ITERATION_MAX_LIMIT:
        problems.append(f"$.iteration_limit: must be between 1 and {ITERATION_MAX_LIMIT}, got {limit}")
    delay = data.get("iteration_delay")
    if delay is not None:
        try:
            if Duration(delay) > ITERATION_MAX_DELAY:
                problems.append(f"$.iteration_delay: must be at most 5m, got {delay!r}")
        except (TypeError, ValueError):
            pass  # reported by the converter with the same path
    enabled = data.get("enabled")
    if isinstance(enabled, str) and "{" not in enabled and enabled.strip().lower() not in ("true", "false"):
        problems.append(f"$.enabled: expected true, false or a Jinja template, got {enabled!r}")
    for key in ACTION_KEYS:
        actions = data.get(key)
        if isinstance(actions, list):
            problems += [f"$.{key}[{i}].action: required field missing"
                         for i, a in enumerate(actions) if isinstance(a, dict) and "action" not in a]
    return problems


def load_job(data: object, *, source: str | None = None) -> Job:
    """Structure a job spec; every problem is reported at once with its path."""
    if not isinstance(data, dict):
        raise SpecError([f"$: expected a job spec map, got {type(data).__name__}"], source=source)
    problems = _job_problems(data)
    try:
        job = structure(data, Job, source=None)
    except SpecError as exc:
        problems = exc.problems + [p for p in problems if p not in exc.problems]
        job = None
    if problems:
        job_id = data.get("job_id") if isinstance(data.get("job_id"), str) else None
        raise SpecError(_dedupe(problems), source=source, job_id=job_id)
    assert job is not None
    return job


def _dedupe(lines: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for line in lines:
        seen.setdefault(line, None)
    return list(seen)


@define(frozen=True, kw_only=True)
class DispatchMessage:
    """The body a worker receives: lava's seven keys, nothing else."""

    realm: str
    worker: str
    job_id: str
    run_id: str = field(factory=lambda: str(uuid.uuid4()))
    ts_dispatch: str = field(factory=lambda: iso(now_local()))
    parameters: dict[str, Any] = field(factory=dict)
    globals: dict[str, Any] = field(factory=dict)

    def to_body(self) -> dict[str, Any]:
        """lava leaves out empty parameters and globals; so do we, for compatibility."""
        body = unstructure(self)
        for key in ("parameters", "globals"):
            if not body[key]:
                del body[key]
        return body


def load_message(data: object) -> DispatchMessage:
    """Structure and check a received dispatch message body, reporting every problem at once."""
    if not isinstance(data, dict):
        raise SpecError([f"$: expected a map, got {type(data).__name__} {data!r:.80}"])
    problems = []
    if isinstance(data, dict):
        run_id = data.get("run_id")
        if isinstance(run_id, str):
            try:
                uuid.UUID(run_id)
            except ValueError:
                problems.append(f"$.run_id: expected a UUID, got {run_id!r}")
        ts = data.get("ts_dispatch")
        if isinstance(ts, str):
            try:
                parse_ts(ts)
            except ValueError as exc:
                problems.append(f"$.ts_dispatch: {exc}")
    try:
        message = structure(data, DispatchMessage, root="$")
    except SpecError as exc:
        problems = exc.problems + problems
        message = None
    if problems:
        job_id = data.get("job_id") if isinstance(data, dict) and isinstance(data.get("job_id"), str) else None
        raise SpecError(_dedupe(problems), job_id=job_id)
    assert message is not None
    return message


@define(frozen=True, kw_only=True)
class EventEntry:
    """One step of a run, appended to the event record's ``log``."""

    status: str
    info: Any
    ts_event: str
    tu_event: str


@define(frozen=True, kw_only=True)
class Event:
    """The events-table item of one run of one job (children get their own items)."""

    job_id: str
    run_id: str
    status: str
    ts_event: str
    tu_event: str
    ts_dispatch: str | None = None
    worker: str | None = None
    hostname: str | None = None
    worker_id: str | None = None
    ttl: int | None = None
    parent_job_id: str | None = None
    master_job_id: str | None = None
    log: list[EventEntry] = field(factory=list)


@define(frozen=True, kw_only=True)
class Realm:
    """The realm record: where payloads and outputs live, defaults for every job."""

    realm: str
    s3_payloads: str
    s3_temp: str
    s3_key: str | None = None
    config: dict[str, Any] = field(factory=dict)
    on_success: list[dict[str, Any]] | None = None
    on_fail: list[dict[str, Any]] | None = None
    on_retry: list[dict[str, Any]] | None = None
    docker: str | None = None
    extras: dict[str, Any] = field(factory=dict)


register_record(Job, extras_field="extras")
register_record(DispatchMessage)
register_record(EventEntry)
register_record(Event)
register_record(Realm, extras_field="extras")
