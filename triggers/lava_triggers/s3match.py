"""The s3trigger: S3 object events matched against the realm's s3triggers table.

For each S3 event (see :mod:`lava_triggers.s3events` for the delivery paths):

1. duplicate suppression, when enabled: the event's (bucket, key, size, event
   type) is claimed in the state table for ``dedup_ttl`` seconds; a second
   delivery within that time, in this process or any other, is discarded;
2. the prefix walk: the entries for the key itself, then for each shorter
   prefix of whole path components, then for ``*`` (the whole bucket); the
   first level with any entry wins, broader levels are not consulted (lava's rule);
3. per entry at that level: invalid entries are reported and skipped (the
   others still run), disabled ones dropped, ``if_*`` conditions evaluated;
4. parameters, globals and job ids rendered in the sandbox with ``bucket``,
   ``key``, ``event``, ``info`` and ``utils`` (unless ``jinja: false``);
5. one dispatch per job id of each surviving entry; a job whose spec says
   ``enabled: false`` is not dispatched (as in lava).

Query results and job specs are cached per process for ``cache_ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from lava_core.convert import Duration
from lava_core.dispatch import DispatchRequest
from lava_core.errors import SpecError
from lava_core.extension import TriggerSource
from lava_core.records import JOB_ID_RE, Job, load_job
from lava_core.render import RenderError, render_obj, render_str, utils
from lava_core.state import claim

from lava_triggers.entries import S3TriggerEntry, check_entry, evaluate, prefixes
from lava_triggers.envelope import deliveries, is_sqs_batch
from lava_triggers.report import ItemReport, Planned, TriggerReport
from lava_triggers.s3events import S3EventError, S3Info, s3_events

if TYPE_CHECKING:
    from lava_core.backend import Backend

DEDUP_PREFIX = "lava/dedup/s3trigger/"
_MISSING = object()


@define(frozen=True)
class S3TriggerSettings:
    """``cache_ttl``: seconds query results and job specs are reused (0: off).
    ``dedup_ttl``: seconds within which a repeated event is discarded (0: suppression off)."""

    cache_ttl: float = 60.0
    dedup_ttl: float = 0.0

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> S3TriggerSettings:
        """``LAVA_S3TRIGGER_CACHE_TTL`` (default 60s) and ``LAVA_S3TRIGGER_DEDUP_TTL`` (default off).

        For lava compatibility, ``LAVA_S3TRIGGER_DEDUP_CACHE_SIZE`` above 0 also turns
        suppression on, with lava's 30s when no TTL is given.
        """
        env = os.environ if env is None else env
        cache_ttl = float(Duration(env.get("LAVA_S3TRIGGER_CACHE_TTL") or "60"))
        dedup = env.get("LAVA_S3TRIGGER_DEDUP_TTL")
        size = env.get("LAVA_S3TRIGGER_DEDUP_CACHE_SIZE") or "0"
        if dedup:
            dedup_ttl = float(Duration(dedup))
        else:
            dedup_ttl = 30.0 if size.strip().isdigit() and int(size) > 0 else 0.0
        return cls(cache_ttl=cache_ttl, dedup_ttl=dedup_ttl)


class TTLCache:
    """A small per-process cache: entries expire after ``ttl`` seconds, the oldest go beyond ``size``."""

    def __init__(self, ttl: float, size: int = 200) -> None:
        self.ttl, self.size = ttl, size
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any) -> Any:
        found = self._data.get(key)
        if found is None or found[0] <= time.monotonic():
            self._data.pop(key, None)
            return _MISSING
        return found[1]

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        self._data[key] = (time.monotonic() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)


class S3TriggerSource(TriggerSource):
    """``s3trigger``: lava's s3trigger Lambda, as a trigger source."""

    trigger_name: ClassVar[str] = "s3trigger"

    def __init__(self, settings: S3TriggerSettings | None = None) -> None:
        self.settings = settings or S3TriggerSettings.from_env()
        self._queries = TTLCache(self.settings.cache_ttl)
        self._jobs = TTLCache(self.settings.cache_ttl)

    # ------------------------------------------------------------------ the TriggerSource contract

    def requests(self, event: Any, *, backend: Backend) -> list[DispatchRequest]:
        return self.explain(event, backend=backend, dry_run=False).requests()

    def check_entry(self, data: object, *, source: str | None = None) -> S3TriggerEntry:
        """Validate one s3triggers row (``lava trigger put``); SpecError names the trigger and each field."""
        return check_entry(data, source=source)

    def explain(self, event: Any, *, backend: Backend, dry_run: bool = True) -> TriggerReport:
        """Match every S3 event delivered in ``event``. Nothing is sent here (see :meth:`TriggerReport.send`);
        with ``dry_run`` duplicate suppression is not consulted, so nothing at all is written."""
        report = TriggerReport(self.trigger_name, batch=is_sqs_batch(event), dry_run=dry_run)
        for delivery in deliveries(event):
            item = ItemReport(delivery)
            report.items.append(item)
            try:
                found, notes = s3_events(delivery.body)
            except S3EventError as exc:
                item.errors.append(str(exc))
                continue
            item.notes += notes
            for raw, info in found:
                self._match(raw, info, backend, item, dry_run=dry_run)
        return report

    # ------------------------------------------------------------------ one event

    def _match(self, raw: dict[str, Any], info: S3Info, backend: Backend, item: ItemReport, *, dry_run: bool) -> None:
        record: dict[str, Any] = {"info": info.to_json(), "levels": [], "level": None, "entries": []}
        item.detail.append(record)
        item.lines.append(f"{info.uri}  size {info.size}  {info.event_type}  {info.event_time.isoformat()}")
        if self.settings.dedup_ttl > 0:
            if dry_run:
                item.lines.append(f"duplicate suppression: on ({self.settings.dedup_ttl:g}s), not consulted in a dry run")
            elif not self._first_delivery(backend, info, item):
                return
        rows: list[dict[str, Any]] = []
        for level in prefixes(info.key):
            record["levels"].append(level)
            rows = self._query(backend, info.bucket, level)
            if rows:
                record["level"] = level
                break
        tried = ", ".join(repr(level) for level in record["levels"])
        if not rows:
            item.lines.append(f"prefixes tried: {tried}: no s3trigger entry")
            item.notes.append(f"no s3trigger entry for {info.uri}")
            return
        item.lines.append(f"prefixes tried: {tried}: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} "
                          f"at {record['level']!r}")
        variables = {"bucket": info.bucket, "key": info.key, "event": raw, "info": info.as_dict(), "utils": utils}
        for row in rows:
            record["entries"].append(self._entry(row, info, variables, backend, item))

    def _first_delivery(self, backend: Backend, info: S3Info, item: ItemReport) -> bool:
        """Claim the event's identity; False (and a note) when another delivery holds it."""
        identity = "\x00".join((info.bucket, info.key, str(info.size), info.event_type))
        state_id = DEDUP_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:40]
        holder = f"{info.event_time.isoformat()} {uuid.uuid4()}"
        if claim(backend, state_id, holder, self.settings.dedup_ttl):
            item.claims.append(state_id)
            return True
        item.lines.append("duplicate event: discarded")
        item.notes.append(f"duplicate event discarded: {info.uri} size {info.size} {info.event_type} "
                          f"(seen within {self.settings.dedup_ttl:g}s)")
        return False

    def _entry(self, row: dict[str, Any], info: S3Info, variables: dict[str, Any], backend: Backend,
               item: ItemReport) -> dict[str, Any]:
        trigger_id = row.get("trigger_id")
        result: dict[str, Any] = {"trigger_id": trigger_id, "status": "", "conditions": [], "dispatches": []}
        try:
            entry = check_entry(row)
        except SpecError as exc:
            result["status"] = "invalid"
            item.errors += str(exc).splitlines()
            item.lines.append(f"trigger {trigger_id}: invalid entry, skipped")
            return result
        if not entry.enabled:
            result["status"] = "disabled"
            item.lines.append(f"trigger {trigger_id}: disabled")
            return result
        conditions = evaluate(entry, info)
        result["conditions"] = [c.to_json() for c in conditions]
        passed = all(c.passed for c in conditions)
        verdict = ("conditions pass" if passed else "conditions fail") if conditions else "no conditions"
        item.lines.append(f"trigger {trigger_id}: {verdict}")
        item.lines += [f"  {c.name} {c.expected!r} vs {c.actual!r}: {'pass' if c.passed else 'FAIL'}"
                       for c in conditions]
        if not passed:
            result["status"] = "conditions failed"
            return result
        try:
            planned = self._render(entry, variables)
        except RenderError as exc:
            result["status"] = "render error"
            item.errors.append(f"s3trigger {trigger_id!r}: {exc}")
            return result
        result["status"] = "matched"
        for request in planned:
            job, problem = self._job(backend, request.job_id)
            origin = f"s3trigger {trigger_id!r}"
            if problem:
                item.errors.append(f"{origin}: {problem}")
            elif job is not None and job.enabled is False:
                item.notes.append(f"{origin}: job {request.job_id!r} is not enabled: not dispatched")
                item.lines.append(f"  job {request.job_id}: not enabled, not dispatched")
            else:
                p = Planned(request, worker=job.worker if job else None, origin=origin)
                item.planned.append(p)
                result["dispatches"].append(p.to_json())
        return result

    def _render(self, entry: S3TriggerEntry, variables: dict[str, Any]) -> list[DispatchRequest]:
        if entry.jinja:
            parameters = render_obj(entry.parameters, variables, where="$.parameters")
            globals_ = render_obj(entry.globals, variables, where="$.globals")
            job_ids = [render_str(j, variables, where="$.job_id").strip() for j in entry.job_ids]
        else:
            parameters, globals_, job_ids = entry.parameters, entry.globals, entry.job_ids
        return [DispatchRequest(job_id=j, parameters=parameters, globals=globals_, delay=entry.delay)
                for j in job_ids]

    # ------------------------------------------------------------------ table and job look-ups (cached)

    def _query(self, backend: Backend, bucket: str, prefix: str) -> list[dict[str, Any]]:
        key = (backend.describe(), bucket, prefix)
        rows = self._queries.get(key)
        if rows is _MISSING:
            rows = backend.query_triggers(bucket, prefix)
            self._queries.put(key, rows)
        return rows

    def _job(self, backend: Backend, job_id: str) -> tuple[Job | None, str | None]:
        """The job's spec, or why it cannot be dispatched."""
        if not JOB_ID_RE.match(job_id):
            return None, f"rendered job id {job_id!r} is not a job id (letters, digits and _ . : @ / + - only)"
        key = (backend.describe(), job_id)
        found = self._jobs.get(key)
        if found is _MISSING:
            spec = backend.get_job(job_id)
            try:
                found = (None if spec is None else load_job(spec, source=f"job {job_id}"), None)
            except SpecError as exc:
                found = (None, f"job {job_id!r} has an invalid spec: " + "; ".join(exc.problems))
            if found == (None, None):
                found = (None, f"no such job {job_id!r} in realm {backend.realm_name!r}")
            self._jobs.put(key, found)
        return found
