"""dag benchmark: 1,000 trivial children in a wide and a deep dag, against a plain loop.

Every figure is measured in this run. The children are jobs of a tiny in-process
job type, ``bench_noop`` (its ``run`` returns ``{}``), registered by a plugin
object handed to the :class:`~lava_core.plugins.PluginHost`, so no process is
started and what is timed is lava's own work per child: loading the child's spec,
merging globals, the lifecycle, the event writes, and the parent's scheduling.

Phases, each a top-level run executed in this process (as ``lava run`` does),
on a fresh local realm holding the N children:

* ``loop``: a parent of type ``bench_loop`` that calls ``run_child`` for each child
  in turn, with nothing else: the baseline;
* ``chain``: a chain job over the N children;
* ``dag wide, workers=W``: a dag whose N children are all independent;
* ``dag deep``: a dag where child i waits for child i-1 (a line N deep).

Scheduling overhead per child = (phase time - loop time) / N. Event writes are
flushed (``backend.flush()``) inside each timed span.

``--child-ms MS`` makes each child sleep (as if it waited for a process): then the
wide dag's pool shows what parallelism buys.

Usage: ``python bench/dag.py [--children N] [--rounds R] [--workers W ...] [--child-ms MS] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lava_core import JobType, RunContext, hookimpl, run_child
from lava_core.backend.local import LocalBackend
from lava_core.lifecycle import execute
from lava_core.plugins import PluginHost
from lava_core.run import Services

FLEET = "core"


class NoopJob(JobType):
    """A child that does nothing (or sleeps ``--child-ms``): its run costs only what lava does around it."""

    type_name = "bench_noop"
    sleep_s = 0.0

    def run(self, run: RunContext, params: Any) -> dict[str, Any]:  # noqa: ARG002 - the JobType contract
        if self.sleep_s:
            time.sleep(self.sleep_s)  # stands for waiting on a process or the network: the GIL is free
        return {}


class LoopJob(JobType):
    """The baseline parent: ``run_child`` for each id of the payload, in order, nothing else."""

    type_name = "bench_loop"

    def run(self, run: RunContext, params: Any) -> dict[str, Any]:  # noqa: ARG002 - the JobType contract
        ends = [run_child(run, job_id).status for job_id in run.job.payload]
        return {"complete": ends.count("complete")}


class BenchPlugin:
    """A plugin object registered by name on the host (no entry point needed)."""

    @hookimpl
    def lava_register_job_types(self, register) -> None:
        register(NoopJob)
        register(LoopJob)


@dataclass
class Phase:
    name: str
    children: int
    wall_s: list[float]
    median_s: float = 0.0
    ms_per_child: float = 0.0
    children_per_s: float = 0.0
    overhead_ms_per_child: float | None = None
    status: str = ""


def build_realm(base: Path, n: int, workers: list[int]) -> LocalBackend:
    backend = LocalBackend.init(base / "realm", name="bench-dag")
    ids = [f"bench/c{i:05d}" for i in range(n)]
    common = {"worker": FLEET, "enabled": True}
    specs: list[dict[str, Any]] = [{"job_id": j, "type": "bench_noop", "payload": None, **common} for j in ids]
    specs.append({"job_id": "bench/loop", "type": "bench_loop", "payload": ids, **common})
    specs.append({"job_id": "bench/chain", "type": "chain", "payload": ids, **common})
    for w in workers:
        specs.append({"job_id": f"bench/wide-{w}", "type": "dag", "payload": dict.fromkeys(ids),
                      "parameters": {"workers": w}, **common})
    deep = {ids[0]: None, **{ids[i]: ids[i - 1] for i in range(1, n)}}
    specs.append({"job_id": "bench/deep", "type": "dag", "payload": deep, **common})  # default workers
    backend.put_jobs(specs)
    return backend


def time_run(services: Services, job_id: str) -> tuple[float, str]:
    job = services.backend.load_job(job_id)
    assert job is not None
    started = time.perf_counter()
    outcome = execute(services, job, run_id=str(uuid.uuid4()), ts_dispatch=None)
    services.backend.flush()
    return time.perf_counter() - started, outcome.status


def measure(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="lava-bench-dag-", dir=args.realm_dir))
    backend = build_realm(base, args.children, args.workers)
    host = PluginHost(plugins=[("bench-noop", BenchPlugin())])
    services = Services(backend=backend, host=host, realm=backend.get_realm(), worker=FLEET, tmpdir=base / "tmp")
    plan = [("loop", "bench/loop"), ("chain", "bench/chain")]
    plan += [(f"dag wide, workers={w}", f"bench/wide-{w}") for w in args.workers]
    plan.append(("dag deep (line)", "bench/deep"))
    phases = {name: Phase(name, args.children, []) for name, _ in plan}
    time_run(services, "bench/loop")  # warm-up: caches, imports, the SQLite file
    for round_no in range(args.rounds):
        for name, job_id in plan:  # interleaved, so drift on a shared machine hits every phase alike
            seconds, status = time_run(services, job_id)
            phases[name].wall_s.append(seconds)
            phases[name].status = status
            print(f"round {round_no + 1}/{args.rounds} {name}: {seconds:.3f}s {status}", file=sys.stderr)
    baseline = statistics.median(phases["loop"].wall_s)
    for phase in phases.values():
        phase.median_s = statistics.median(phase.wall_s)
        phase.ms_per_child = 1000 * phase.median_s / phase.children
        phase.children_per_s = phase.children / phase.median_s
        if phase.name != "loop":
            phase.overhead_ms_per_child = 1000 * (phase.median_s - baseline) / phase.children
    backend.close()
    if args.realm_dir is None:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "children": args.children, "child_ms": args.child_ms, "rounds": args.rounds, "realm_dir": str(base),
        "phases": [asdict(p) for p in phases.values()],
    }


def print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    kind = f"children sleeping {report['child_ms']:g} ms" if report["child_ms"] else "trivial children"
    print(f"{report['children']} {kind} (bench_noop, in-process), median of {report['rounds']} rounds; "
          f"{m['cpus']} CPUs, Python {m['python']}")
    print(f"{'phase':<24} {'median s':>9} {'ms/child':>9} {'children/s':>11} {'overhead ms/child':>18}  status")
    for p in report["phases"]:
        over = "-" if p["overhead_ms_per_child"] is None else f"{p['overhead_ms_per_child']:+.3f}"
        print(f"{p['name']:<24} {p['median_s']:>9.3f} {p['ms_per_child']:>9.3f} {p['children_per_s']:>11.0f} "
              f"{over:>18}  {p['status']}")
    print("overhead = (phase - loop) / children: what the chain or dag adds per child to a plain run_child loop")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=1000, help="children per parent (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each phase; the median is shown")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1, 8],
                        help="dag pool sizes for the wide shape (default: 1, the CPU count, 8)")
    parser.add_argument("--child-ms", type=float, default=0.0,
                        help="each child sleeps this long (default 0: trivial children)")
    parser.add_argument("--realm-dir", default=None, help="folder for the realm, kept afterwards (default: a temp folder, removed)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    args.workers = sorted(set(args.workers))
    NoopJob.sleep_s = args.child_ms / 1000
    report = measure(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
