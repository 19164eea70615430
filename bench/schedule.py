"""Scheduling figures: the embedded dispatcher's fire accuracy and CPU cost, and crontab build time.

1. accuracy and CPU: ``--jobs`` jobs, each with the every-second schedule
   ``* * * * * *`` (a seconds field: the embedded dispatcher honours it), run
   for ``--seconds`` against a fresh local realm. For every ``dispatched``
   record, lateness = the record's time minus the tick's nominal instant; CPU =
   this process's CPU time (all threads) per 1,000 fires. Nothing consumes the
   queue, so only the dispatcher is measured.
2. crontab build: the lavasched job type (if lava-lavasched is installed) builds
   the managed crontab block for ``--crontab-jobs`` scheduled jobs; the time of
   the build alone (listing, parsing, rendering), without installing it.

Usage: ``python bench/schedule.py [--jobs 20] [--seconds 120] [--crontab-jobs 10000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lava_core.backend.local import LocalBackend
from lava_core.dispatcher import Dispatcher, DispatcherOptions


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def dispatcher_figures(base: Path, jobs: int, seconds: float) -> dict[str, Any]:
    realm = LocalBackend.init(base / "dispatch", name="bench")
    realm.put_jobs([{"job_id": f"tick/{i:03d}", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
                     "dispatcher": "bench", "schedule": "* * * * * *"} for i in range(jobs)])
    dispatcher = Dispatcher(realm, DispatcherOptions(name="bench", zone=ZoneInfo("UTC"), refresh=30, lease=30))
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    thread.start()
    time.sleep(seconds)
    dispatcher.stop.set()
    thread.join(30)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    realm.flush()
    late_ms = []
    for event in realm.query_events(status="dispatched", limit=10**7):
        first = event.log[0]
        late_ms.append(1000 * (datetime.fromisoformat(first.ts_event)
                               - datetime.fromisoformat(first.info["at"])).total_seconds())
    realm.close()
    fires = dispatcher.fired
    return {"jobs": jobs, "seconds": round(wall, 1), "fires": fires, "expected_fires": int(jobs * seconds),
            "cpu_s": round(cpu, 2), "cpu_ms_per_1000_fires": round(1000 * 1000 * cpu / fires, 1) if fires else None,
            "late_ms_p50": percentile(late_ms, 50), "late_ms_p99": percentile(late_ms, 99),
            "late_ms_max": max(late_ms) if late_ms else None,
            "late_ms_mean": round(statistics.fmean(late_ms), 2) if late_ms else None}


def crontab_figures(base: Path, jobs: int) -> dict[str, Any]:
    try:
        from lava_lavasched.crontab import build_block  # noqa: PLC0415 - optional plugin
    except ImportError as exc:
        return {"skipped": f"lava-lavasched not installed or has no build_block ({exc})"}
    realm = LocalBackend.init(base / "crontab", name="bench")
    specs = [{"job_id": f"job/{i:05d}", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
              "dispatcher": "host1", "schedule": f"{i % 60} {i % 24} * * *"} for i in range(jobs)]
    realm.put_jobs(specs)
    started = time.perf_counter()
    block = build_block(realm, ["host1"], env={}, args=[], zone=ZoneInfo("UTC"))
    elapsed = time.perf_counter() - started
    realm.close()
    return {"jobs": jobs, "build_s": round(elapsed, 3), "lines": len(block.splitlines()) if isinstance(block, str)
            else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="every-second jobs for the dispatcher (default 20)")
    parser.add_argument("--seconds", type=float, default=120, help="how long the dispatcher runs (default 120)")
    parser.add_argument("--crontab-jobs", type=int, default=10000, help="jobs in the crontab build (default 10000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lava-bench-sched-") as tmp:
        print(f"bench: dispatcher, {args.jobs} every-second jobs for {args.seconds:g}s", file=sys.stderr)
        report = {"dispatcher": dispatcher_figures(Path(tmp), args.jobs, args.seconds)}
        print(f"bench: crontab build for {args.crontab_jobs} jobs", file=sys.stderr)
        report["crontab"] = crontab_figures(Path(tmp), args.crontab_jobs)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    d = report["dispatcher"]
    print(f"dispatcher: {d['fires']} fires of {d['expected_fires']} expected in {d['seconds']}s "
          f"({d['jobs']} jobs, every second)")
    print(f"  fire lateness ms: p50 {d['late_ms_p50']:.1f}, p99 {d['late_ms_p99']:.1f}, max {d['late_ms_max']:.1f}")
    print(f"  CPU: {d['cpu_s']}s in all, {d['cpu_ms_per_1000_fires']} ms per 1,000 fires "
          "(dispatch message + events record + fire key + last-fire state, local realm)")
    c = report["crontab"]
    if "skipped" in c:
        print(f"crontab build: skipped: {c['skipped']}")
    else:
        print(f"crontab build: {c['jobs']} jobs in {c['build_s']}s ({c['lines']} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
