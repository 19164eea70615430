"""``lava sched preview`` (when schedules fire) and ``lava dispatcher run`` (the embedded dispatcher)."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lava_core.backend import open_realm
from lava_core.cli.output import EXIT_OK, EXIT_USAGE, error, print_json, print_table
from lava_core.convert import Duration
from lava_core.dispatcher import Dispatcher, DispatcherOptions
from lava_core.records import load_job
from lava_core.units import parse_duration
from lava_core.schedule import parse_schedule, ticks, wall_instant, zone_named


def _instant(text: str, zone: ZoneInfo, *, base: datetime | None = None) -> datetime:
    """``now``, ``+DUR`` (after ``base``), or ISO 8601 (naive: in ``zone``)."""
    if text == "now":
        return datetime.now(UTC)
    if text.startswith("+") and base is not None:
        return base + timedelta(seconds=float(Duration(text[1:])))
    ts = datetime.fromisoformat(text)
    return (ts if ts.tzinfo else ts.replace(tzinfo=zone)).astimezone(UTC)


def cmd_sched_preview(args: argparse.Namespace) -> int:
    zone = zone_named(args.zone)
    try:
        start = _instant(args.start, zone)
        end = _instant(args.end, zone, base=start)
    except ValueError as exc:
        error(f"--from/--to: {exc} (use ISO 8601 like 2026-11-01T00:00, 'now', or --to +DUR)")
        return EXIT_USAGE
    if (args.job is None) == (args.dispatcher is None):
        error("name a JOB or --dispatcher D (one of them)")
        return EXIT_USAGE
    backend = open_realm(args.realm, create=False)
    specs = [backend.get_job(args.job)] if args.job else [
        s for s in backend.jobs_of_dispatcher(args.dispatcher) if s.get("schedule")]
    if specs == [None]:
        error(f"no such job {args.job!r}")
        return EXIT_USAGE
    rows: list[dict[str, Any]] = []
    for spec in specs:
        job = load_job(spec, source=f"job {spec['job_id']}")
        for entry in parse_schedule(job.schedule, zone):
            if entry.reboot:
                rows.append({"job_id": job.job_id, "schedule": entry.index, "crontab": entry.crontab, "wall": None,
                             "utc": None, "local": None, "status": "at dispatcher start", "dst": None})
            for tick in ticks(entry, start, end, zone):
                status = "dst-skipped" if tick.at is None else ("fire" if tick.active else "suppressed")
                rows.append({"job_id": job.job_id, "schedule": entry.index, "crontab": entry.crontab,
                             "wall": tick.wall.isoformat(), "utc": tick.at.isoformat() if tick.at else None,
                             "local": tick.at.astimezone(zone).isoformat() if tick.at else None,
                             "status": status, "dst": tick.dst,
                             "_order": (tick.at or wall_instant(tick.wall, zone)).isoformat()})
    rows.sort(key=lambda r: (r.pop("_order", ""), r["job_id"], r["schedule"]))
    if args.json:
        print_json({"zone": zone.key, "from": start.isoformat(), "to": end.isoformat(), "fires": rows})
    else:
        print_table(["utc", f"local ({zone.key})", "job_id", "#", "status", "dst"],
                    [[r["utc"] or "-", r["local"] or r["wall"] or "-", r["job_id"], r["schedule"], r["status"],
                      r["dst"] or ""] for r in rows])
    return EXIT_OK


def cmd_dispatcher_run(args: argparse.Namespace) -> int:
    zone = zone_named(args.zone)
    backend = open_realm(args.realm, create=False)
    dispatcher = Dispatcher(backend, DispatcherOptions(name=args.dispatcher, zone=zone,
                                                       refresh=parse_duration(args.refresh),
                                                       lease=parse_duration(args.lease)))

    def stop(_signum: int, _frame: object) -> None:
        dispatcher.stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    if args.run_for is not None:
        timer = threading.Timer(parse_duration(args.run_for), dispatcher.stop.set)
        timer.daemon = True
        timer.start()
    try:
        return dispatcher.run()
    finally:
        dispatcher.stop.set()


def add_parsers(sub: argparse._SubParsersAction, duration: Any) -> None:  # type: ignore[type-arg]
    sched = sub.add_parser("sched", help="schedules: when do jobs fire").add_subparsers(dest="sub", required=True)
    preview = sched.add_parser(
        "preview", help="every fire of a job's (or a dispatcher's) schedules in an interval, in UTC and local time",
        description="Uses the same function as the embedded dispatcher: DST-adjusted fires are marked, fires "
                    "outside a schedule's window are listed as suppressed, wall times skipped in a DST gap as "
                    "dst-skipped.")
    preview.add_argument("job", metavar="JOB", nargs="?", help="the job whose schedules to preview")
    preview.add_argument("--dispatcher", "-d", help="instead of JOB: every scheduled job of this dispatcher")
    preview.add_argument("--from", dest="start", default="now", metavar="T",
                         help="start (exclusive): ISO 8601 (naive = in --zone) or 'now' (default)")
    preview.add_argument("--to", dest="end", default="+1d", metavar="T",
                         help="end (inclusive): ISO 8601, 'now', or +DUR after --from (default +1d)")
    preview.add_argument("--zone", help="the dispatcher's IANA zone (default: this host's)")
    preview.add_argument("--json", action="store_true")
    preview.set_defaults(func=cmd_sched_preview)

    disp = sub.add_parser("dispatcher", help="the embedded dispatcher").add_subparsers(dest="sub", required=True)
    run = disp.add_parser(
        "run", help="fire the schedules of a dispatcher's jobs at the exact instants, until stopped",
        description="Serves the jobs whose `dispatcher` field is NAME: fires each schedule in --zone by lava's DST "
                    "rule, records every intended fire in the events table (dispatched, suppressed, missed, "
                    "send_failed), remembers the last fire per schedule in the state table (no double fire after "
                    "a restart; missed fires follow each schedule's catchup policy), and holds a lease so that only "
                    "one process per dispatcher name fires.")
    run.add_argument("--dispatcher", "-d", required=True, metavar="NAME")
    run.add_argument("--zone", help="IANA zone the crontabs are read in (default: this host's)")
    run.add_argument("--refresh", default="30s", type=duration, metavar="DUR",
                     help="re-read job specs this often (default 30s)")
    run.add_argument("--lease", default="30s", type=duration, metavar="DUR",
                     help="lease time: a standby process takes over at most this long after the holder dies")
    run.add_argument("--for", dest="run_for", type=duration, metavar="DUR", help="stop after this long (tests, demos)")
    run.set_defaults(func=cmd_dispatcher_run)
