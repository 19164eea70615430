"""The dag job type: run stored jobs in dependency order, independent ones in parallel.

lava runs a dag in *waves*: it starts every ready job, waits for the whole
batch, then starts the next ready set, so a job whose predecessor finished early
still waits for slow, unrelated jobs. Here each job starts as soon as its own
predecessors are done (and a pool thread is free).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from attrs import define, field

from lava_core import Job, JobType, RunContext

from lava_dag.common import (
    ChildEnd, ChildPool, cpu_count, fail, int_setting, patterns_of, run_one, self_reference, tolerated,
)
from lava_dag.graph import Graph, find_cycle, parse_graph, with_prefix


@define(frozen=True, kw_only=True)
class DagParams:
    """Parameters of a dag job (lava's names)."""

    workers: int | None = None
    job_prefix: str = ""
    can_fail: str | list[str] = field(factory=list)


def pool_size(run: RunContext, workers: int | None) -> int:
    """``workers``, else the ``DAG_WORKERS`` setting, else the CPU count; at most ``DAG_MAX_WORKERS`` (4 x CPUs)."""
    wanted = workers if workers is not None else int_setting(run, "DAG_WORKERS", cpu_count())
    most = int_setting(run, "DAG_MAX_WORKERS", 4 * cpu_count())
    if wanted > most:
        run.log.warning("dag %s: %d workers asked for; limited to DAG_MAX_WORKERS=%d", run.job.job_id, wanted, most)
        return most
    return wanted


class DagJob(JobType):
    """Payload: ``{job: predecessor | [predecessors] | null | []}``; every id named runs once.

    Predecessors finish before their successors start; jobs whose predecessors
    are done run in parallel on a pool of ``workers`` threads that lives as long
    as the run. A failure that ``can_fail`` does not forgive stops new starts;
    jobs already running finish first.
    """

    type_name = "dag"
    Params = DagParams

    def validate(self, job: Job, params: DagParams) -> list[str]:
        graph, problems = parse_graph(job.payload)
        if params.workers is not None and params.workers < 1:
            problems.append(f"$.parameters.workers: must be at least 1, got {params.workers}")
        if graph and not problems:
            cycle = find_cycle(graph)
            if cycle:
                problems.append(f"$.payload: jobs are in a cycle: {' -> '.join(cycle)}")
            problems += self_reference(job.job_id, list(with_prefix(graph, params.job_prefix)), "dag")
        return problems

    def run(self, run: RunContext, params: DagParams) -> dict[str, Any]:
        graph, _ = parse_graph(run.job.payload)  # validate() has passed before run() is called
        graph = with_prefix(graph, params.job_prefix)
        size = min(pool_size(run, params.workers), len(graph))
        return DagRun(run, graph, patterns_of(params.can_fail)).run(size)


class DagRun:
    """One execution of a dag: counts unfinished predecessors and starts jobs as they become ready."""

    def __init__(self, run: RunContext, graph: Graph, patterns: list[str]) -> None:
        self.ctx = run
        self.patterns = patterns
        self.waiting = {node: len(preds) for node, preds in graph.items()}
        self.successors: dict[str, list[str]] = {node: [] for node in graph}
        for node, preds in graph.items():
            for pred in preds:
                self.successors[pred].append(node)
        self.ready = deque(node for node, count in self.waiting.items() if count == 0)
        self.result: dict[str, Any] = {"exit_status": 0, "jobs": [], "failed_jobs": []}
        self.error: str | None = None

    def run(self, size: int) -> dict[str, Any]:
        with ChildPool[str](size, "dag") as pool:
            while True:
                if self.ready and self.error is None and not pool.busy and (size == 1 or len(self.ready) == 1):
                    # Nothing else runs or can become ready meanwhile: run it in this thread and
                    # save two thread hand-offs (a line-shaped dag, or workers: 1).
                    job_id = self.ready.popleft()
                    self._finished(job_id, run_one(self.ctx, job_id))
                    continue
                while self.ready and self.error is None and pool.has_room():
                    job_id = self.ready.popleft()
                    pool.start(job_id, run_one, self.ctx, job_id)
                if not pool.busy:
                    break
                for job_id, end in pool.next_done():
                    self._finished(job_id, end)
        if self.error is not None:
            ended = {*self.result["jobs"], *self.result["failed_jobs"]}
            not_started = [n for n in self.waiting if n not in ended]
            if not_started:
                self.ctx.log.info("dag %s: not started: %s", self.ctx.job.job_id, ", ".join(not_started))
            raise fail(self.error, self.result)
        return self.result

    def _finished(self, job_id: str, end: ChildEnd) -> None:
        if end.ok:
            self.result["jobs"].append(job_id)
        else:
            self.result["failed_jobs"].append(job_id)
            if not tolerated(end, self.patterns):
                if self.error is None:
                    self.error = f"Job {job_id}: {end.detail}"
                return
        for successor in self.successors[job_id]:
            self.waiting[successor] -= 1
            if self.waiting[successor] == 0:
                self.ready.append(successor)
