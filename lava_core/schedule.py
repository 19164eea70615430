"""Schedules: the one module that turns crontabs into instants (every croniter call is here).

A crontab names wall-clock times in the dispatcher's IANA zone. Around DST
changes some wall times do not exist (the spring gap) or happen twice (the
autumn fold). The rule, the same for ``lava sched preview``, the embedded
dispatcher and the crontab builder's checks:

* **Daily and coarser schedules** (the hour field is not ``*``): a wall time in
  the gap fires once, at the first valid instant after the gap (the
  transition); a wall time in the fold fires once, at its first occurrence.
* **Hourly and finer schedules** (the hour field is ``*``): fires follow elapsed
  time. Wall times in the gap are skipped (the next fire of the schedule comes
  within the hour anyway) and wall times in the fold fire at both occurrences,
  so there is one fire per elapsed hour (for ``0 * * * *``) across the change.

A sixth crontab field is seconds (croniter's convention); the embedded
dispatcher honours it, cron does not. ``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly``/``@annually`` and ``@midnight`` are accepted;
``@reboot`` fires once when the dispatcher starts and never in an interval.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import define
from croniter import croniter

from lava_core.convert import Duration
from lava_core.errors import SpecError

REBOOT = "@reboot"
CATCHUP_POLICIES = ("none", "latest", "all")
DEFAULT_GRACE = 3600.0
DEFAULT_CATCHUP_LIMIT = 10
_ENTRY_KEYS = {"crontab", "from", "to", "catchup", "catchup_limit", "grace"}
# Wall-clock fires are searched this far around an interval: no zone shifts its clock by more.
_MAX_SHIFT = timedelta(hours=3)
_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


@define(frozen=True, kw_only=True)
class ScheduleEntry:
    """One schedule of a job: a crontab, an optional active window, and what to do about missed fires."""

    index: int
    crontab: str
    start: datetime | None = None  # the window's ``from``
    end: datetime | None = None  # the window's ``to``
    catchup: str = "latest"
    catchup_limit: int = DEFAULT_CATCHUP_LIMIT
    grace: float = DEFAULT_GRACE

    @property
    def reboot(self) -> bool:
        return self.crontab == REBOOT

    @property
    def every_hour(self) -> bool:
        return not self.reboot and croniter(self.crontab).expanded[1] == ["*"]

    def active(self, at: datetime) -> bool:
        """Inside the window (``from`` <= ``to``), or outside it (``from`` > ``to``: an exclusion window)."""
        start, end = self.start or _EPOCH, self.end or _FOREVER
        if start <= end:
            return start <= at <= end
        return at <= end or at >= start

    @property
    def seconds_field(self) -> bool:
        return not self.reboot and len(self.crontab.split()) == 6


@define(frozen=True, kw_only=True)
class Tick:
    """A wall-clock time a schedule names, resolved to an instant (``at``) or not (skipped in a DST gap)."""

    entry: ScheduleEntry
    wall: datetime  # naive, in the zone
    at: datetime | None  # aware UTC; None when skipped
    dst: str | None = None  # what a DST change did to it
    active: bool = True  # False: suppressed by the entry's window

    @property
    def fires(self) -> bool:
        return self.at is not None and self.active


def local_zone() -> ZoneInfo:
    """This host's IANA zone: ``$TZ``, else ``/etc/timezone``, else where ``/etc/localtime`` points, else UTC."""
    return _local_zone(os.environ.get("TZ", ""))


@functools.lru_cache(maxsize=8)
def _local_zone(tz_variable: str) -> ZoneInfo:
    # Cached per $TZ value: `lava job put` checks every spec's schedule, and the host's files do not change.
    candidates = [tz_variable.lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text().strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).split("zoneinfo/", 1)[-1])
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo:
    if not name:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown time zone {name!r} (use an IANA name like Europe/London)"
        raise SpecError([msg]) from exc


# ---------------------------------------------------------------------- parsing
def crontab_problem(text: str) -> str | None:
    """Why ``text`` is not a usable crontab, or None."""
    if text == REBOOT:
        return None
    fields = text.split()
    if not text.startswith("@") and len(fields) not in (5, 6):
        return f"expected 5 fields (minute hour day month weekday) or 6 (plus seconds), got {len(fields)}"
    if not croniter.is_valid(text):
        return "not a valid crontab"
    return None


def parse_schedule(value: Any, zone: ZoneInfo, *, where: str = "$.schedule") -> list[ScheduleEntry]:
    """A job's ``schedule`` (string, object or list of them; empty = none) as entries; SpecError lists every problem."""
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    entries, problems = [], []
    for i, item in enumerate(items):
        path = f"{where}[{i}]" if isinstance(value, list) else where
        try:
            entries.append(_entry(i, item, zone, path))
        except SpecError as exc:
            problems += exc.problems
    if problems:
        raise SpecError(problems)
    return entries


def _entry(index: int, item: Any, zone: ZoneInfo, path: str) -> ScheduleEntry:
    if isinstance(item, str):
        item = {"crontab": item}
    if not isinstance(item, dict):
        raise SpecError([f"{path}: expected a crontab string or a map with crontab/from/to, got {item!r}"])
    problems = [f"{path}.{key}: unknown field" for key in sorted(set(item) - _ENTRY_KEYS)]
    crontab = item.get("crontab")
    if not isinstance(crontab, str) or not crontab.strip():
        problems.append(f"{path}.crontab: required: a crontab string")
        crontab = ""
    else:
        crontab = " ".join(crontab.split())
        why = crontab_problem(crontab)
        if why:
            problems.append(f"{path}.crontab: {crontab!r}: {why}")
    bounds: dict[str, datetime | None] = {}
    for key in ("from", "to"):
        bounds[key] = None
        raw = item.get(key)
        if raw is None:
            continue
        try:
            ts = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
            bounds[key] = (ts if ts.tzinfo else ts.replace(tzinfo=zone)).astimezone(UTC)
        except ValueError:
            problems.append(f"{path}.{key}: expected an ISO 8601 time like 2026-12-24T18:00, got {raw!r}")
    catchup = item.get("catchup", "latest")
    if catchup not in CATCHUP_POLICIES:
        problems.append(f"{path}.catchup: expected one of {', '.join(CATCHUP_POLICIES)}, got {catchup!r}")
    limit = item.get("catchup_limit", DEFAULT_CATCHUP_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        problems.append(f"{path}.catchup_limit: expected a positive integer, got {limit!r}")
    try:
        grace = float(Duration(item.get("grace", DEFAULT_GRACE)))
    except (ValueError, TypeError):
        problems.append(f"{path}.grace: expected a duration like '1h', got {item.get('grace')!r}")
        grace = DEFAULT_GRACE
    if problems:
        raise SpecError(problems)
    return ScheduleEntry(index=index, crontab=crontab, start=bounds["from"], end=bounds["to"], catchup=catchup,
                         catchup_limit=limit, grace=grace)


# ---------------------------------------------------------------------- evaluating
def ticks(entry: ScheduleEntry, after: datetime, until: datetime, zone: ZoneInfo) -> Iterator[Tick]:
    """Every wall time the entry names with ``after`` < instant <= ``until``, resolved by the DST rule, in time order.

    A wall time moved by a gap onto an instant the schedule names anyway fires once.
    """
    if entry.reboot:
        return
    every_hour = entry.every_hour
    # Near a clock change a wall time may stand for an instant up to an hour or two away: look wider then.
    steady = (after - _MAX_SHIFT).astimezone(zone).utcoffset() == (until + _MAX_SHIFT).astimezone(zone).utcoffset()
    margin = timedelta(seconds=1) if steady else _MAX_SHIFT
    wall = (after.astimezone(zone) - margin).replace(tzinfo=None)
    last_wall = (until.astimezone(zone) + margin).replace(tzinfo=None)
    it = croniter(entry.crontab, wall)
    found: list[Tick] = []
    while (wall := it.get_next(datetime)) <= last_wall:
        for at, note in _resolve(wall, zone, every_hour=every_hour):
            if at is None:
                if _in_interval(wall_instant(wall, zone), after, until):
                    found.append(Tick(entry=entry, wall=wall, at=None, dst=note, active=False))
            elif _in_interval(at, after, until):
                found.append(Tick(entry=entry, wall=wall, at=at, dst=note, active=entry.active(at)))
    # Fold occurrences interleave with the next wall times: order by instant (skipped ones by wall time).
    found.sort(key=lambda t: (t.at or wall_instant(t.wall, zone), t.dst is not None))
    seen: set[datetime] = set()
    for tick in found:
        if tick.at is not None:
            if tick.at in seen:
                continue
            seen.add(tick.at)
        yield tick


def wall_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone, fold=1).astimezone(UTC)


def next_fire(entry: ScheduleEntry, after: datetime, zone: ZoneInfo, horizon: timedelta = timedelta(days=800)) -> Tick | None:
    """The first tick after ``after`` that fires (resolved and inside the window), or None within ``horizon``."""
    step = timedelta(days=1) if not entry.seconds_field else timedelta(hours=1)
    start, limit = after, after + horizon
    while start < limit:
        end = min(start + step, limit)
        for tick in ticks(entry, start, end, zone):
            if tick.fires:
                return tick
        start = end
        step = min(step * 4, timedelta(days=64))  # sparse schedules (yearly) need few iterations
    return None


def _in_interval(at: datetime, after: datetime, until: datetime) -> bool:
    return after < at <= until


def _resolve(wall: datetime, zone: ZoneInfo, *, every_hour: bool) -> list[tuple[datetime | None, str | None]]:
    """The instants a wall time stands for under the DST rule, each with a note when DST changed it."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return [(first, None)]
    exists = first.astimezone(zone).replace(tzinfo=None) == wall
    if exists:  # the autumn fold: the wall time happens twice
        early, late = sorted((first, second))
        if every_hour:
            return [(early, "fold: first occurrence"), (late, "fold: repeated hour")]
        return [(early, "fold: first occurrence only")]
    if every_hour:
        return [(None, f"gap: {wall:%H:%M:%S} does not exist; skipped")]
    transition = _gap_end(min(first, second), max(first, second), wall, zone)
    return [(transition, f"gap: {wall:%H:%M:%S} does not exist; fired at "
                         f"{transition.astimezone(zone):%H:%M:%S}")]


def _gap_end(low: datetime, high: datetime, wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose wall time is at or after ``wall``: the end of the gap (to the second)."""
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


__all__ = ["REBOOT", "ScheduleEntry", "Tick", "crontab_problem", "local_zone", "next_fire", "parse_schedule",
           "ticks", "zone_named"]
