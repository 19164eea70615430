"""The embedded dispatcher: fires scheduled dispatches in-process, at the exact instants.

``lava dispatcher run --dispatcher NAME`` serves the jobs whose ``dispatcher``
field is NAME. Compared with a crontab built by lavasched:

* schedules are evaluated in an explicit IANA zone with the DST rule of
  :mod:`lava_core.schedule`, to the second, and windows are checked per fire;
* every intended fire leaves an events record: ``dispatched`` (the run's own
  item, which the worker then continues), ``suppressed`` (outside its window),
  ``missed`` (the dispatcher was down and the catch-up policy let it go) or
  ``send_failed``;
* the last fire of each schedule is kept in the realm's state table, so a
  restart neither fires twice nor forgets what it missed;
* a lease in the state table lets one process of a given dispatcher name fire
  at a time; others stand by and take over when its lease runs out, and a
  per-fire key keeps a tick from firing twice during a handover.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attrs import define, field

from lava_core.backend import Backend
from lava_core.dispatch import DispatchRequest, send
from lava_core.errors import SpecError
from lava_core.records import EventEntry, Job, iso, load_job, naive_utc, now_local
from lava_core.run import event_ttl
from lava_core.schedule import ScheduleEntry, Tick, parse_schedule, ticks, wall_instant
from lava_core.state import claim, get_state, make_item

log = logging.getLogger("lava.dispatcher")

DISPATCHED, SUPPRESSED, MISSED, SEND_FAILED = "dispatched", "suppressed", "missed", "send_failed"
FIRE_KEY_TTL = 2 * 86400.0
# Fires are looked for this far ahead; the plan is recomputed at least this often.
LOOKAHEAD = timedelta(minutes=5)
# A catch-up after long downtime lists missed fires one by one up to this many, then sums up the rest.
MAX_MISSED_RECORDS = 100


@define(kw_only=True)
class DispatcherOptions:
    name: str
    zone: ZoneInfo
    refresh: float = 30.0
    lease: float = 30.0
    holder: str = field(factory=lambda: f"dispatcher-{uuid.uuid4().hex[:12]}")


@define(kw_only=True)
class Scheduled:
    """One schedule entry of one job: its ticks worked out up to ``horizon``, the next ones in ``pending``."""

    job: Job
    entry: ScheduleEntry
    horizon: datetime
    pending: list[Tick] = field(factory=list)

    def next_ticks(self, zone: ZoneInfo, now: datetime) -> list[Tick]:
        """The ticks not yet handled, worked out a lookahead at a time (croniter is not free)."""
        while not self.pending and self.horizon < now + LOOKAHEAD:
            end = max(self.horizon + LOOKAHEAD, now)
            self.pending = list(ticks(self.entry, self.horizon, end, zone))
            self.horizon = end
        return self.pending


class Dispatcher:
    """Fires the schedules of one dispatcher name in one realm until ``stop`` is set."""

    def __init__(self, backend: Backend, options: DispatcherOptions) -> None:
        self.backend = backend
        self.options = options
        self.stop = threading.Event()
        self.fired = 0
        self._plan: dict[tuple[str, int], Scheduled] = {}
        self._specs: dict[str, dict[str, Any]] = {}
        self._holding = False
        self._started = False
        realm = backend.get_realm()
        self._event_ttl = event_ttl(realm)

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        name = self.options.name
        log.info("dispatcher %s (%s) on realm %s, zone %s", name, self.options.holder, self.backend.describe(),
                 self.options.zone.key)
        next_lease = next_refresh = 0.0
        while not self.stop.is_set():
            now = time.time()
            if now >= next_lease:
                self._renew_lease()
                next_lease = now + self.options.lease / 3
            if not self._holding:
                self.stop.wait(min(1.0, self.options.lease / 3))
                continue
            if now >= next_refresh:
                self.refresh()
                next_refresh = now + self.options.refresh
            due_at = self._fire_due(datetime.now(UTC))
            wake = min(next_lease, next_refresh, due_at.timestamp() if due_at else now + 1.0)
            self.stop.wait(max(0.0, wake - time.time()))
        if self._holding:
            self.backend.delete_state_item(self._lease_id())  # hand over at once rather than after the TTL
        return 0

    def _lease_id(self) -> str:
        return f"lava/dispatcher/{self.options.name}/lease"

    def _renew_lease(self) -> None:
        held = claim(self.backend, self._lease_id(), self.options.holder, ttl=self.options.lease)
        if held != self._holding:
            log.info("dispatcher %s: %s the lease", self.options.holder, "took" if held else "lost")
        self._holding = held

    # ------------------------------------------------------------------ plan
    def refresh(self) -> None:
        """Re-read the jobs of this dispatcher; new or changed schedules are (re)planned, keeping their history."""
        specs = {s["job_id"]: s for s in self.backend.jobs_of_dispatcher(self.options.name) if s.get("schedule")}
        now = datetime.now(UTC)
        for job_id, spec in specs.items():
            if self._specs.get(job_id) == spec:
                continue
            for key in [k for k in self._plan if k[0] == job_id]:
                del self._plan[key]
            try:
                job = load_job(spec, source=f"job {job_id}")
                entries = parse_schedule(job.schedule, self.options.zone)
            except SpecError as exc:
                log.error("job %s: schedule not used: %s", job_id, "; ".join(exc.problems))
                self._record(job_id, str(uuid.uuid4()), SEND_FAILED, {"error": "Bad schedule: " + "; ".join(exc.problems)})
                continue
            for entry in entries:
                scheduled = Scheduled(job=job, entry=entry, horizon=now)
                self._plan[(job_id, entry.index)] = scheduled
                if entry.reboot:
                    if not self._started:
                        self._fire(scheduled, None, now, note="@reboot: the dispatcher started")
                    continue
                self._catch_up(scheduled, now)
        for job_id in set(self._specs) - set(specs):
            for key in [k for k in self._plan if k[0] == job_id]:
                del self._plan[key]
        self._specs = specs
        self._started = True

    def _last_id(self, scheduled: Scheduled) -> str:
        return f"lava/dispatcher/{self.options.name}/last/{scheduled.job.job_id}#{scheduled.entry.index}"

    def _catch_up(self, scheduled: Scheduled, now: datetime) -> None:
        """Apply the entry's missed-fire policy to the fires between its last recorded fire and now."""
        last = get_state(self.backend, self._last_id(scheduled))
        if last is None:
            return  # never fired: start from now
        since = datetime.fromisoformat(last.value["at"])
        if since.tzinfo is None or since >= now:
            return
        missed = [t for t in ticks(scheduled.entry, since, now, self.options.zone) if t.fires]
        entry = scheduled.entry
        if entry.catchup == "all":
            run, skip = missed[-entry.catchup_limit:], missed[:-entry.catchup_limit]
        elif entry.catchup == "latest" and missed and (now - missed[-1].at).total_seconds() <= entry.grace:
            run, skip = missed[-1:], missed[:-1]
        else:
            run, skip = [], missed
        for tick in skip[-MAX_MISSED_RECORDS:]:
            self._record(scheduled.job.job_id, str(uuid.uuid4()), MISSED,
                         self._info(scheduled, tick, note=f"dispatcher down; catchup {entry.catchup}"))
        if len(skip) > MAX_MISSED_RECORDS:
            self._record(scheduled.job.job_id, str(uuid.uuid4()), MISSED,
                         {"dispatcher": self.options.name, "schedule": entry.index,
                          "note": f"{len(skip) - MAX_MISSED_RECORDS} earlier missed fires not listed",
                          "from": iso(skip[0].at), "to": iso(skip[-MAX_MISSED_RECORDS - 1].at)})
        for tick in run:
            self._fire(scheduled, tick, now, note=f"catch-up ({entry.catchup})")

    # ------------------------------------------------------------------ firing
    def _fire_due(self, now: datetime) -> datetime | None:
        """Fire every tick due by ``now``; returns when the next one is due (within the lookahead)."""
        upcoming: datetime | None = None
        for scheduled in list(self._plan.values()):
            if scheduled.entry.reboot:
                continue
            pending = scheduled.next_ticks(self.options.zone, now)
            while pending:
                tick = pending[0]
                instant = tick.at or wall_instant(tick.wall, self.options.zone)
                if instant > now:
                    upcoming = instant if upcoming is None else min(upcoming, instant)
                    break
                pending.pop(0)
                if tick.at is None:
                    log.info("job %s: %s", scheduled.job.job_id, tick.dst)
                elif not tick.active:
                    self._record(scheduled.job.job_id, str(uuid.uuid4()), SUPPRESSED,
                                 self._info(scheduled, tick, note="outside the schedule's window"))
                else:
                    self._fire(scheduled, tick, now)
                if not pending:
                    pending = scheduled.next_ticks(self.options.zone, now)
        return upcoming

    def _fire(self, scheduled: Scheduled, tick: Tick | None, now: datetime, note: str | None = None) -> None:
        job, entry = scheduled.job, scheduled.entry
        nominal = tick.at if tick is not None else now
        key = f"lava/fire/{self.options.name}/{job.job_id}#{entry.index}@{nominal.strftime('%Y%m%dT%H%M%S')}"
        if not claim(self.backend, key, self.options.holder, ttl=FIRE_KEY_TTL):
            log.info("job %s: fire at %s already made by another dispatcher process", job.job_id, iso(nominal))
            return
        run_id = str(uuid.uuid4())
        info = self._info(scheduled, tick, note=note)
        if job.enabled is False:
            self._record(job.job_id, run_id, SUPPRESSED, {**info, "note": "job not enabled (static)"})
        else:
            self._record(job.job_id, run_id, DISPATCHED, info)
            try:
                send(self.backend, DispatchRequest(job_id=job.job_id), worker=job.worker, run_id=run_id)
                self.fired += 1
            except Exception as exc:  # any failure to send is recorded as the fire's outcome, never fatal
                log.exception("job %s: dispatch failed", job.job_id)
                self._record(job.job_id, run_id, SEND_FAILED, {**info, "error": str(exc)})
        self.backend.put_state_item(make_item(self._last_id(scheduled), {"at": iso(nominal.astimezone(UTC))},
                                              publisher=self.options.holder, ttl="366d", reserved_ok=True).to_item())

    def _info(self, scheduled: Scheduled, tick: Tick | None, *, note: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {"dispatcher": self.options.name, "schedule": scheduled.entry.index,
                                "crontab": scheduled.entry.crontab}
        if tick is not None:
            info.update(nominal=tick.wall.isoformat(), at=iso(tick.at.astimezone(self.options.zone)) if tick.at else None)
            if tick.dst:
                info["dst"] = tick.dst
        if note:
            info["note"] = note
        return info

    def _record(self, job_id: str, run_id: str, status: str, info: dict[str, Any]) -> None:
        ts = now_local()
        entry = EventEntry(status=status, info=info, ts_event=iso(ts), tu_event=naive_utc(ts))
        fields: dict[str, Any] = {"status": status, "ts_event": entry.ts_event, "tu_event": entry.tu_event,
                                  "ts_dispatch": iso(ts), "hostname": socket.gethostname()}
        if self._event_ttl:
            fields["ttl"] = int(ts.timestamp() + self._event_ttl)
        self.backend.record_event(job_id, run_id, [entry], fields)
