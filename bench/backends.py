"""The same figures for both backends in one run: the local realm and AWS (a moto server).

Against moto the absolute AWS timings mean little (one 2-core machine runs the
server, the worker and the jobs); they are printed, labelled. What transfers to
real AWS is the **number of API calls per job run**, counted by operation from
botocore's own request events, which is what AWS bills.

Phases, each on a fresh realm of each backend:

1. dispatch N runs of ``bench/true`` (payload ``["true"]``, no output) with
   ``lava_core.dispatch.dispatch`` (which looks up the job's fleet);
2. an in-process worker (W threads, ``drain=True``) runs them until the queue
   is empty;
3. the same for ``bench/echo`` (``echo hi``: one output object per run),
   dispatched with the fleet given (no lookup);
4. live: the worker runs first, M runs are dispatched at ``--rate`` per second,
   and dispatch -> running latency is read from the events table.

Usage: ``python bench/backends.py [--jobs N] [--threads W] [--live-jobs M] [--rate R] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import Meter, dispatch_runs, dist, latencies, run_times, statuses

from lava_core.backend import Backend
from lava_core.backend.local import LocalBackend
from lava_core.dispatch import DispatchRequest, send
from lava_core.motoserver import MotoServer, use_moto_server
from lava_core.plugins import PluginHost
from lava_core.worker import Worker, WorkerOptions

FLEET = "core"
TRUE_JOB, ECHO_JOB = "bench/true", "bench/echo"
JOBS = [{"job_id": TRUE_JOB, "type": "cmd", "worker": FLEET, "enabled": True, "payload": ["true"]},
        {"job_id": ECHO_JOB, "type": "cmd", "worker": FLEET, "enabled": True, "payload": "echo hi"}]
CALL_TARGET = 6  # the issue: at most 6 AWS API calls per simple job run, heartbeats excluded
HEARTBEAT_CALLS = {"sqs.ChangeMessageVisibility"}
# Costs of waiting, not of running: idle polls, the drain's queue-depth checks, per-process URL lookups.
IDLE_CALLS = {"sqs.GetQueueUrl", "sqs.GetQueueAttributes"}
EMPTY_RECEIVES = "sqs.ReceiveMessage(empty)"

RealmFactory = Callable[[str], Backend]


def calls(backend: Backend) -> Counter[str]:
    """A snapshot of the API calls made so far (AWS only; the local realm makes none)."""
    return Counter(getattr(backend, "api_calls", {}))


def per_run(before: Counter[str], after: Counter[str], runs: int) -> dict[str, float]:
    delta = after - before
    return {op: round(count / runs, 2) for op, count in sorted(delta.items())}


def drain_worker(backend: Backend, host: PluginHost, threads: int, tmpdir: Path) -> Meter:
    worker = Worker(backend, host, WorkerOptions(fleet=FLEET, threads=threads, drain=True, wait=0.2,
                                                 visibility=60, tmpdir=tmpdir, install_signals=False))
    with Meter() as m:
        worker.run()
    return m


def batch_phase(new_realm: RealmFactory, host: PluginHost, *, n: int, threads: int, tmp: Path) -> dict[str, Any]:
    backend = new_realm("batch")
    start = calls(backend)
    run_ids, seconds, dspan = dispatch_runs(backend, n)
    dispatched = calls(backend)
    meter = drain_worker(backend, host, threads, tmp / "w1")
    drained = calls(backend)
    echo_ids = [send(backend, DispatchRequest(job_id=ECHO_JOB), worker=FLEET).run_id for _ in range(n)]
    sent = calls(backend)
    drain_worker(backend, host, threads, tmp / "w2")
    echoed = calls(backend)
    times = run_times(backend, run_ids)  # reads events: after the counted phases
    echo_ok = sum(1 for r in echo_ids if (e := backend.get_event(ECHO_JOB, r)) and e.status == "complete")
    backend.close()
    return {
        "dispatch_jobs_per_s": n / dspan.wall, "dispatch_call_ms": dist([1000 * s for s in seconds]),
        "drain_jobs_per_s": n / meter.span.wall, "statuses": statuses(times),
        "echo_complete": echo_ok,
        "calls_dispatch_lookup": per_run(start, dispatched, n),
        "calls_run_true": per_run(dispatched, drained, n),
        "calls_dispatch_fleet_given": per_run(drained, sent, n),
        "calls_run_echo": per_run(sent, echoed, n),
    }


def live_phase(new_realm: RealmFactory, host: PluginHost, *, n: int, threads: int, rate: float,
               tmp: Path) -> dict[str, Any]:
    backend = new_realm("live")
    worker = Worker(backend, host, WorkerOptions(fleet=FLEET, threads=threads, wait=1.0, visibility=60,
                                                 tmpdir=tmp / "w3", install_signals=False))
    thread = threading.Thread(target=worker.run, name="bench-live-worker", daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        run_ids, _, _ = dispatch_runs(backend, n, rate)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and backend.queue_depth(FLEET) != (0, 0):
            time.sleep(0.05)
    finally:
        worker.services.stopping.set()
        thread.join(30)
    times = run_times(backend, run_ids)
    backend.close()
    return {"rate": rate, "statuses": statuses(times), **latencies(times)}


def run_cost(ops: dict[str, float]) -> float:
    """API calls that scale with runs: everything but heartbeats, idle polls and per-process lookups."""
    busy = sum(v for k, v in ops.items() if k not in HEARTBEAT_CALLS | IDLE_CALLS | {EMPTY_RECEIVES})
    return round(busy - ops.get(EMPTY_RECEIVES, 0.0), 2)


def idle_cost(ops: dict[str, float]) -> float:
    return round(sum(v for k, v in ops.items() if k in IDLE_CALLS) + ops.get(EMPTY_RECEIVES, 0.0), 2)


def measure(name: str, new_realm: RealmFactory, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    host = PluginHost()
    print(f"bench: {name}: {args.jobs} runs, {args.threads} threads", file=sys.stderr)
    report = batch_phase(new_realm, host, n=args.jobs, threads=args.threads, tmp=tmp / name)
    print(f"bench: {name}: live, {args.live_jobs} runs at {args.rate:g}/s", file=sys.stderr)
    report["live"] = live_phase(new_realm, host, n=args.live_jobs, threads=args.threads, rate=args.rate,
                                tmp=tmp / name)
    return report


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("dispatch jobs/s", lambda r: f"{r['dispatch_jobs_per_s']:.0f}"),
        ("dispatch call ms p50 / p99", lambda r: f"{r['dispatch_call_ms']['p50']:.1f} / {r['dispatch_call_ms']['p99']:.1f}"),
        ("worker drain jobs/s (`true`)", lambda r: f"{r['drain_jobs_per_s']:.1f}"),
        ("live dispatch->running ms p50 / p99", lambda r: "{:.0f} / {:.0f}".format(
            r["live"]["to_running_ms"]["p50"] or 0, r["live"]["to_running_ms"]["p99"] or 0)),
        ("API calls: dispatch (fleet looked up)", lambda r: f"{run_cost(r['calls_dispatch_lookup']):g}"),
        ("API calls: dispatch (fleet given)", lambda r: f"{run_cost(r['calls_dispatch_fleet_given']):g}"),
        ("API calls: worker per run, `true`", lambda r: f"{run_cost(r['calls_run_true']):g}"),
        ("API calls: worker per run, `echo hi`", lambda r: f"{run_cost(r['calls_run_echo']):g}"),
        ("API calls: idle polling per run, drain", lambda r: f"{idle_cost(r['calls_run_echo']):g}"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'':{width}}  " + "  ".join(f"{n:>16}" for n in names))
    for label, cell in rows:
        print(f"{label:{width}}  " + "  ".join(f"{cell(results[n]):>16}" for n in names))
    aws = results.get("aws (moto)")
    if aws:
        print("\nAWS API calls per run, by operation (totals leave out heartbeats, idle polls and lookups):")
        for key in ("calls_dispatch_fleet_given", "calls_run_echo"):
            print(f"  {key}: " + ", ".join(f"{op} {v:g}" for op, v in aws[key].items()))
        for label, dispatch_key, run_key in (
                ("`true` (no output), fleet looked up", "calls_dispatch_lookup", "calls_run_true"),
                ("`echo hi` (one output), fleet given", "calls_dispatch_fleet_given", "calls_run_echo"),
                ("`echo hi` (one output), fleet looked up", "calls_dispatch_lookup", "calls_run_echo")):
            simple = run_cost(aws[dispatch_key]) + run_cost(aws[run_key])
            verdict = "met" if simple <= CALL_TARGET else "over"
            print(f"  dispatch + run of {label}: {simple:g} calls (target <= {CALL_TARGET}: {verdict})")
        print("  (timings against moto on this machine are not AWS timings; call counts are)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, metavar="N", help="runs per batch phase (default 200)")
    parser.add_argument("--threads", type=int, default=4, metavar="W", help="worker threads (default 4)")
    parser.add_argument("--live-jobs", type=int, default=50, metavar="M", help="runs of the live phase (default 50)")
    parser.add_argument("--rate", type=float, default=10.0, help="live dispatch rate per second (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lava-bench-") as tmpname:
        tmp = Path(tmpname)

        def local_realm(name: str) -> Backend:
            backend = LocalBackend.init(tmp / f"realm-{name}", name=f"bench-{name}")
            backend.put_jobs(JOBS)
            return backend

        results["local"] = measure("local", local_realm, args, tmp)
        server = MotoServer(tmp / "moto.log")
        server.start()
        use_moto_server(server.endpoint)
        try:
            from lava_core.backend.aws import AwsBackend  # noqa: PLC0415 - boto3 only here
            from lava_core.backend.aws_setup import init_aws_realm  # noqa: PLC0415

            def aws_realm(name: str) -> Backend:
                init_aws_realm(f"bench-{name}", bucket=f"lava-bench-{name}", fleets=[FLEET])
                backend = AwsBackend(f"bench-{name}")
                backend.put_jobs(JOBS)
                return backend

            results["aws (moto)"] = measure("aws (moto)", aws_realm, args, tmp)
        finally:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
