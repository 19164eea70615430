"""Throughput benchmark: lava's worker running `true` against a plain subprocess loop.

Phases (every figure is measured in this run, nothing is assumed):

1. raw sequential: ``subprocess.run(["true"])`` N times in a loop (the issue's reference);
2. raw threaded: the same N runs on W threads (``concurrent.futures``);
3. lava drain: N runs of the cmd job ``bench/true`` (payload ``["true"]``) are dispatched
   into a fresh local realm, then a real in-process :class:`lava_core.worker.Worker`
   (W threads, ``drain=True``) is timed until the queue is empty;
4. lava live: a fresh realm, the worker is started first (in a thread) and the N runs are
   dispatched as fast as possible while it serves; dispatch->start latency is taken from
   the events table (``ts_event`` of the ``starting``/``running`` entry - ``ts_dispatch``);
5. lava paced: like 4, but dispatching at ``--rate`` runs/s (default: half the drain
   throughput), so the latency shows pick-up delay rather than queue backlog.

``--profile FILE`` profiles phase 3 in every thread (``python -m cProfile`` sees only the
main thread, not the worker's job threads) and prints the top functions.

Usage: ``python bench/throughput.py [--jobs N] [--threads W] [--realm-dir DIR] [--json]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lava_core.backend import Backend
from lava_core.backend.local import LocalBackend
from lava_core.dispatch import dispatch
from lava_core.plugins import PluginHost
from lava_core.records import COMPLETE, RUNNING, STARTING, TERMINAL_STATUSES, parse_ts
from lava_core.worker import Worker, WorkerOptions

JOB_ID = "bench/true"
FLEET = "core"
COMMAND = ["true"]
TARGET_RATIO = 0.5  # the issue: lava >= 50% of a plain subprocess.run(['true']) loop (4 threads, 2 cores)
TARGET_THREADS = 4
TARGET_CORES = 2
RAW_WARMUP = 20


# --------------------------------------------------------------------------- measuring


@dataclass
class Span:
    """Wall time and CPU time of this process (all threads) and of its waited-for children."""

    wall: float = 0.0
    cpu_self: float = 0.0
    cpu_children: float = 0.0


class Meter:
    """``with Meter() as m: ...`` then ``m.span``."""

    def __enter__(self) -> Meter:
        self._t = time.perf_counter()
        self._p = time.process_time()
        self._c = os.times()
        return self

    def __exit__(self, *_: object) -> None:
        c = os.times()
        self.span = Span(wall=time.perf_counter() - self._t, cpu_self=time.process_time() - self._p,
                         cpu_children=(c.children_user - self._c.children_user)
                         + (c.children_system - self._c.children_system))


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def dist(values: list[float]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values) if values else None}


@dataclass
class PhaseResult:
    """One measured phase; ``jobs_per_s`` is N / ``wall_s``."""

    name: str
    jobs: int
    wall_s: float
    jobs_per_s: float
    ms_per_job: float
    parent_cpu_ms_per_job: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def phase(name: str, jobs: int, span: Span, *, cpu: bool = True, **extra: Any) -> PhaseResult:
    return PhaseResult(name=name, jobs=jobs, wall_s=span.wall, jobs_per_s=jobs / span.wall,
                       ms_per_job=1000 * span.wall / jobs,
                       parent_cpu_ms_per_job=1000 * span.cpu_self / jobs if cpu else None, extra=extra)


# --------------------------------------------------------------------------- raw limit


def _true() -> None:
    subprocess.run(COMMAND, check=True)


def raw_sequential(n: int) -> PhaseResult:
    for _ in range(RAW_WARMUP):
        _true()
    with Meter() as m:
        for _ in range(n):
            _true()
    return phase("raw sequential", n, m.span)


def raw_threaded(n: int, threads: int) -> PhaseResult:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: _true(), range(RAW_WARMUP)))
        with Meter() as m:
            for future in [pool.submit(_true) for _ in range(n)]:
                future.result()
    return phase(f"raw {threads} threads", n, m.span)


# --------------------------------------------------------------------------- lava


def new_realm(base: Path, name: str) -> LocalBackend:
    backend = LocalBackend.init(base / name, name=f"bench-{name}")
    backend.put_jobs([{"job_id": JOB_ID, "type": "cmd", "worker": FLEET, "enabled": True, "payload": COMMAND}])
    return backend


def dispatch_runs(backend: Backend, n: int, rate: float | None = None) -> tuple[list[str], list[float], Span]:
    """Dispatch N runs (optionally paced at ``rate`` per second); run ids, per-call seconds, span."""
    run_ids: list[str] = []
    seconds: list[float] = []
    interval = 1.0 / rate if rate else 0.0
    with Meter() as m:
        start = time.perf_counter()
        for i in range(n):
            if interval:
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            t = time.perf_counter()
            run_ids.append(dispatch(backend, JOB_ID))
            seconds.append(time.perf_counter() - t)
    return run_ids, seconds, m.span


def dispatch_result(name: str, run_ids: list[str], seconds: list[float], span: Span) -> PhaseResult:
    ms = [1000 * s for s in seconds]
    return phase(name, len(run_ids), span, call_ms=dist(ms))


@dataclass
class RunTimes:
    status: str
    dispatch: float
    starting: float | None
    running: float | None
    end: float | None


def run_times(backend: Backend, run_ids: list[str]) -> list[RunTimes]:
    """Per run, the epoch seconds of dispatch and of the first starting/running/terminal log entries."""
    out = []
    for run_id in run_ids:
        event = backend.get_event(JOB_ID, run_id)
        if event is None or event.ts_dispatch is None:
            out.append(RunTimes("missing", 0.0, None, None, None))
            continue
        first: dict[str, float] = {}
        for entry in event.log:
            first.setdefault(entry.status, parse_ts(entry.ts_event).timestamp())
        end = next((first[s] for s in (COMPLETE, *TERMINAL_STATUSES) if s in first), None)
        out.append(RunTimes(event.status, parse_ts(event.ts_dispatch).timestamp(), first.get(STARTING),
                            first.get(RUNNING), end))
    return out


def latencies(times: list[RunTimes]) -> dict[str, dict[str, float | None]]:
    """Milliseconds from ts_dispatch to the starting, running and terminal entries."""
    def ms(attr: str) -> list[float]:
        return [1000 * (getattr(t, attr) - t.dispatch) for t in times if getattr(t, attr) is not None]

    return {"to_starting_ms": dist(ms("starting")), "to_running_ms": dist(ms("running")),
            "to_end_ms": dist(ms("end"))}


def statuses(times: list[RunTimes]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in times:
        counts[t.status] = counts.get(t.status, 0) + 1
    return counts


class ProfiledWorker(Worker):
    """A Worker whose job threads each run under their own cProfile profiler (merged afterwards)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profiles: list[cProfile.Profile] = []
        self._local_profile = threading.local()
        self._profiles_lock = threading.Lock()

    def _process(self, message: Any) -> str | None:
        prof = getattr(self._local_profile, "prof", None)
        if prof is None:
            prof = self._local_profile.prof = cProfile.Profile()
            with self._profiles_lock:
                self.profiles.append(prof)
        prof.enable()
        try:
            return super()._process(message)
        finally:
            prof.disable()


def worker_options(threads: int, tmpdir: Path, *, drain: bool) -> WorkerOptions:
    return WorkerOptions(fleet=FLEET, threads=threads, drain=drain, wait=0.2, visibility=60, tmpdir=tmpdir)


def lava_drain(base: Path, host: PluginHost, n: int, threads: int,
               profile: Path | None) -> tuple[PhaseResult, PhaseResult, dict[str, Any]]:
    """Dispatch N runs, then run the worker until drained."""
    backend = new_realm(base, "drain")
    run_ids, seconds, dspan = dispatch_runs(backend, n)
    worker_cls = ProfiledWorker if profile else Worker
    worker = worker_cls(backend, host, worker_options(threads, base / "wtmp-drain", drain=True))
    main_prof = cProfile.Profile() if profile else None
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with Meter() as m:
            if main_prof:
                main_prof.enable()
            worker.run()
            if main_prof:
                main_prof.disable()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    times = run_times(backend, run_ids)
    done = [t for t in times if t.starting is not None and t.end is not None]
    busy = (max(t.end for t in done) - min(t.starting for t in done)) if done else None  # type: ignore[type-var]
    result = phase(f"lava worker drain, {threads} threads", n, m.span, statuses=statuses(times),
                   busy_s=busy, busy_jobs_per_s=n / busy if busy else None,
                   drain_tail_s=m.span.wall - busy if busy is not None else None,
                   child_cpu_ms_per_job=1000 * m.span.cpu_children / n)
    backend.close()
    prof_info: dict[str, Any] = {}
    if profile and main_prof is not None:
        assert isinstance(worker, ProfiledWorker)
        stats = pstats.Stats(main_prof)
        for prof in worker.profiles:
            stats.add(prof)
        stats.dump_stats(profile)
        prof_info = {"file": str(profile), "job_threads": len(worker.profiles)}
    return dispatch_result("lava dispatch (before worker)", run_ids, seconds, dspan), result, prof_info


def lava_live(base: Path, host: PluginHost, name: str, *, n: int, threads: int, rate: float | None,
              timeout: float) -> PhaseResult:
    """Start the worker first (in a thread), then dispatch N runs while it serves."""
    backend = new_realm(base, name)
    worker = Worker(backend, host, worker_options(threads, base / f"wtmp-{name}", drain=False))
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            worker.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failure.append(exc)

    thread = threading.Thread(target=serve, name=f"bench-worker-{name}", daemon=True)
    thread.start()
    drained = False
    try:
        time.sleep(0.3)  # let it reach its poll loop
        run_ids, seconds, dspan = dispatch_runs(backend, n, rate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and thread.is_alive():
            if backend.queue_depth(FLEET) == (0, 0):
                drained = True
                break
            time.sleep(0.02)
    finally:
        worker.services.stopping.set()
        thread.join()
    if failure:
        raise failure[0]
    times = run_times(backend, run_ids)
    ends = [t.end for t in times if t.end is not None]
    first = min((t.dispatch for t in times if t.status != "missing"), default=None)
    wall = (max(ends) - first) if ends and first is not None else float("nan")
    label = f"lava live, dispatch paced {rate:.0f}/s" if rate else "lava live, burst dispatch"
    result = phase(label, n, Span(wall=wall), cpu=False, statuses=statuses(times), drained=drained,
                   dispatch_jobs_per_s=n / dspan.wall, dispatch_call_ms=dist([1000 * s for s in seconds]),
                   rate=rate, **latencies(times))
    backend.close()
    return result


# --------------------------------------------------------------------------- report


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def summary(*, n: int, threads: int, raw_seq: PhaseResult, raw_thr: PhaseResult, drain: PhaseResult,
            live: PhaseResult) -> dict[str, Any]:
    lava = drain.jobs_per_s
    ratio_seq = lava / raw_seq.jobs_per_s
    busy = drain.extra.get("busy_jobs_per_s")
    return {
        "lava_jobs_per_s": lava,
        "lava_busy_jobs_per_s": busy,
        "ratio_lava_busy_to_raw_sequential": busy / raw_seq.jobs_per_s if busy else None,
        "raw_sequential_jobs_per_s": raw_seq.jobs_per_s,
        "raw_threaded_jobs_per_s": raw_thr.jobs_per_s,
        "ratio_lava_to_raw_sequential": ratio_seq,
        "ratio_lava_to_raw_threaded": lava / raw_thr.jobs_per_s,
        "overhead_ms_per_job_vs_raw_sequential": drain.ms_per_job - raw_seq.ms_per_job,
        "overhead_ms_per_job_vs_raw_threaded": drain.ms_per_job - raw_thr.ms_per_job,
        "parent_cpu_ms_per_job_lava": drain.parent_cpu_ms_per_job,
        "parent_cpu_ms_per_job_raw_sequential": raw_seq.parent_cpu_ms_per_job,
        "latency_to_starting_ms": live.extra["to_starting_ms"],
        "latency_to_running_ms": live.extra["to_running_ms"],
        "target": {
            "text": (f"lava >= {TARGET_RATIO:.0%} of a plain subprocess.run(['true']) loop "
                     f"with {TARGET_THREADS} threads on {TARGET_CORES} cores"),
            "met": ratio_seq >= TARGET_RATIO,
            "same_setup_as_target": threads == TARGET_THREADS and cores() == TARGET_CORES,
        },
        "jobs": n,
    }


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(report: dict[str, Any]) -> None:
    env, s = report["environment"], report["summary"]
    phases = [PhaseResult(**p) for p in report["phases"]]
    print(f"lava throughput: {s['jobs']} runs of cmd {COMMAND!r}, {env['threads']} worker threads, "
          f"{env['cores']} usable cores ({env['cpu_count']} CPUs), Python {env['python']}")
    print(f"realm: {env['realm_base']}  (local SQLite realm, WAL)")
    print()
    print(f"{'phase':<46} {'jobs/s':>9} {'ms/job':>8} {'parent CPU ms/job':>18}")
    for p in phases:
        print(f"{p.name:<46} {p.jobs_per_s:>9.1f} {p.ms_per_job:>8.2f} {_fmt(p.parent_cpu_ms_per_job, '.2f'):>18}")
    drain = next(p for p in phases if p.name.startswith("lava worker drain"))
    print()
    print(f"drain: busy {_fmt(drain.extra['busy_s'], '.2f')}s of {drain.wall_s:.2f}s "
          f"(first start -> last end: {_fmt(drain.extra['busy_jobs_per_s'])} jobs/s; "
          f"the rest is the drain tail), statuses {drain.extra['statuses']}")
    for p in phases:
        if "call_ms" in p.extra:
            c = p.extra["call_ms"]
            print(f"{p.name}: dispatch() call p50 {_fmt(c['p50'], '.2f')} ms, p99 {_fmt(c['p99'], '.2f')} ms")
    print()
    print(f"{'summary':<46} {'value':>12}")
    rows = [
        ("lava jobs/s (worker drain)", f"{s['lava_jobs_per_s']:.1f}"),
        ("  same, first start -> last end", f"{_fmt(s['lava_busy_jobs_per_s'])}"),
        ("raw sequential jobs/s", f"{s['raw_sequential_jobs_per_s']:.1f}"),
        (f"raw {env['threads']}-thread jobs/s", f"{s['raw_threaded_jobs_per_s']:.1f}"),
        ("ratio lava / raw sequential", f"{s['ratio_lava_to_raw_sequential']:.1%}"),
        ("  same, first start -> last end", f"{_fmt(s['ratio_lava_busy_to_raw_sequential'], '.1%')}"),
        (f"ratio lava / raw {env['threads']}-thread", f"{s['ratio_lava_to_raw_threaded']:.1%}"),
        ("overhead per job vs raw sequential", f"{s['overhead_ms_per_job_vs_raw_sequential']:+.2f} ms"),
        (f"overhead per job vs raw {env['threads']}-thread", f"{s['overhead_ms_per_job_vs_raw_threaded']:+.2f} ms"),
        ("parent CPU per job: lava / raw seq",
         f"{_fmt(s['parent_cpu_ms_per_job_lava'], '.2f')} / {_fmt(s['parent_cpu_ms_per_job_raw_sequential'], '.2f')} ms"),
    ]
    for p in phases:
        if "to_running_ms" in p.extra:
            short = "paced" if p.extra["rate"] else "burst"
            for key, label in (("to_starting_ms", "starting"), ("to_running_ms", "running")):
                d = p.extra[key]
                rows.append((f"latency dispatch->{label} p50/p99 ({short})",
                             f"{_fmt(d['p50'], '.0f')} / {_fmt(d['p99'], '.0f')} ms"))
    for label, value in rows:
        print(f"{label:<46} {value:>12}")
    t = s["target"]
    print()
    verdict = "MET" if t["met"] else "NOT MET"
    print(f"target (issue): {t['text']}: {verdict} "
          f"(lava is {s['ratio_lava_to_raw_sequential']:.1%} of raw sequential)")
    if not t["same_setup_as_target"]:
        print(f"  note: measured with {env['threads']} threads on {env['cores']} cores, "
              f"not the target's {TARGET_THREADS} on {TARGET_CORES}")
    problems = [p.name for p in phases if p.extra.get("statuses", {COMPLETE: p.jobs}) != {COMPLETE: p.jobs}
                or p.extra.get("drained") is False]
    if problems:
        print(f"WARNING: not every run completed in: {', '.join(problems)}")
    if report.get("profile"):
        print(f"profile written to {report['profile']['file']} "
              f"({report['profile']['job_threads']} job threads + main thread)")


def print_profile(path: Path, limit: int) -> None:
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(str(path), stream=buf).strip_dirs().sort_stats(key).print_stats(limit)
        text = buf.getvalue()
        print(f"\n==== profile of the drain phase, sorted by {key} ====", file=sys.stderr)
        print(text[text.find("   ncalls"):], file=sys.stderr)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=500, metavar="N", help="runs per phase (default 500)")
    parser.add_argument("--threads", type=int, default=4, metavar="W", help="worker / raw threads (default 4)")
    parser.add_argument("--realm-dir", type=Path, metavar="DIR",
                        help="make the realms in a new folder under DIR and keep it (default: a temp dir, removed)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rate", type=float, default=None,
                        help="dispatch rate of the paced phase (default: half the drain throughput; 0 skips it)")
    parser.add_argument("--timeout", type=float, default=600, help="give up waiting on a live phase after this")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="profile the drain phase in every thread; write pstats to FILE and print the top")
    parser.add_argument("--profile-lines", type=int, default=40, help="functions printed per profile sort")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error("--jobs and --threads must be at least 1")

    if args.realm_dir:
        args.realm_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="lava-bench-", dir=args.realm_dir))
    try:
        host = PluginHost()  # built once per worker process: not part of any timing
        n, w = args.jobs, args.threads
        progress: Callable[[str], None] = lambda text: print(f"... {text}", file=sys.stderr, flush=True)  # noqa: E731
        progress(f"raw sequential x{n}")
        raw_seq = raw_sequential(n)
        progress(f"raw {w} threads x{n}")
        raw_thr = raw_threaded(n, w)
        progress(f"lava: dispatch {n}, then drain with {w} threads")
        dispatch_before, drain, prof_info = lava_drain(base, host, n, w, args.profile)
        progress(f"lava: worker first, burst dispatch of {n}")
        live = lava_live(base, host, "live", n=n, threads=w, rate=None, timeout=args.timeout)
        phases = [raw_seq, raw_thr, dispatch_before, drain, live]
        rate = drain.jobs_per_s / 2 if args.rate is None else args.rate
        if rate > 0:
            progress(f"lava: worker first, {n} dispatches paced at {rate:.0f}/s")
            phases.append(lava_live(base, host, "paced", n=n, threads=w, rate=rate, timeout=args.timeout))
        report = {
            "environment": {"python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "cores": cores(), "threads": w,
                            "realm_base": str(base)},
            "phases": [asdict(p) for p in phases],
            "summary": summary(n=n, threads=w, raw_seq=raw_seq, raw_thr=raw_thr, drain=drain, live=live),
            "profile": prof_info or None,
        }
    finally:
        if not args.realm_dir:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    if args.profile:
        print_profile(args.profile, args.profile_lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
