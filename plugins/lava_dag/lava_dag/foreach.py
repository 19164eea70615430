"""The foreach job type: run one stored job once per value of a loop source."""

from __future__ import annotations

from itertools import islice
from typing import Any

from attrs import define

from lava_core import Job, JobError, JobType, RunContext

from lava_dag.common import ChildEnd, ChildPool, id_problem, int_setting, run_one, self_reference
from lava_dag.sources import load_source

DEFAULT_LIMIT = 10
DEFAULT_MAX_LIMIT = 25


@define(frozen=True, kw_only=True)
class ForeachParams:
    """Parameters of a foreach job: lava's, plus ``parallel``."""

    foreach: dict[str, Any]
    can_fail: bool = False
    limit: int | None = None
    jinja: bool = True
    parallel: int = 1


class ForeachJob(JobType):
    """Payload: the id of the job to run. ``foreach`` names the loop source.

    Every value is read (at most ``limit`` + 1 of them) before the first child
    starts. Each child sees the parent's globals overridden by its iteration's
    values, and ``globals.lava.foreach_index`` (0-based).
    """

    type_name = "foreach"
    Params = ForeachParams

    def validate(self, job: Job, params: ForeachParams) -> list[str]:
        problems = []
        problem = id_problem(job.payload, "$.payload")
        if problem:
            problems.append(problem.replace("expected a job id string", "foreach needs the id of the job to run"))
        else:
            problems += self_reference(job.job_id, [job.payload], "foreach")
        problems += load_source(params.foreach)[1]
        if params.limit is not None and params.limit < 1:
            problems.append(f"$.parameters.limit: must be at least 1, got {params.limit}")
        if params.parallel < 1:
            problems.append(f"$.parameters.parallel: must be at least 1, got {params.parallel}")
        return problems

    def run(self, run: RunContext, params: ForeachParams) -> dict[str, Any]:
        limit = params.limit if params.limit is not None else int_setting(run, "FOREACH_LIMIT", DEFAULT_LIMIT)
        most = int_setting(run, "FOREACH_MAX_LIMIT", DEFAULT_MAX_LIMIT)
        if limit > most:
            raise _error(f"foreach limit of {limit} exceeds realm limit of {most}", {})
        source, _ = load_source(params.foreach)  # validate() has passed before run() is called
        assert source is not None
        values = list(islice(source.iterate(run, jinja=params.jinja), limit + 1))
        if len(values) > limit:
            raise _error(f"foreach value list exceeds limit of {limit}", {})
        return ForeachRun(run, run.job.payload, values, limit=limit, can_fail=params.can_fail).run(params.parallel)


def _error(message: str, result: dict[str, Any]) -> JobError:
    return JobError(message, data={**result, "exit_status": 1, "error": message})


class ForeachRun:
    """One execution of a foreach: iterations in index order, one at a time or ``parallel`` at once."""

    def __init__(self, run: RunContext, child: str, values: list[dict[str, Any]], *, limit: int,
                 can_fail: bool) -> None:
        self.ctx = run
        self.child = child
        self.values = values
        self.can_fail = can_fail
        self.result: dict[str, Any] = {"exit_status": 0, "limit": limit, "foreach_len": len(values),
                                       "jobs_completed": 0, "failed_indexes": []}
        self.errors: dict[int, str] = {}

    def iteration(self, index: int) -> ChildEnd:
        return run_one(self.ctx, self.child, globals=self.values[index], lava={"foreach_index": index})

    def run(self, parallel: int) -> dict[str, Any]:
        if parallel == 1 or len(self.values) <= 1:
            for index in range(len(self.values)):  # in this thread, as lava does
                if not self._finished(index, self.iteration(index)):
                    break
        else:
            self._run_parallel(min(parallel, len(self.values)))
        self.result["failed_indexes"].sort()
        if self.errors:
            index = min(self.errors)
            raise _error(f"Job {self.child}: Index {index}: {self.errors[index]}", self.result)
        return self.result

    def _run_parallel(self, size: int) -> None:
        pending = iter(range(len(self.values)))
        stop = False
        with ChildPool[int](size, "foreach") as pool:
            while True:
                while not stop and pool.has_room():
                    index = next(pending, None)
                    if index is None:
                        break
                    pool.start(index, self.iteration, index)
                if not pool.busy:
                    return
                for index, end in pool.next_done():
                    stop = not self._finished(index, end) or stop

    def _finished(self, index: int, end: ChildEnd) -> bool:
        """Record an iteration's end; False when nothing more may start."""
        if end.ok:
            self.result["jobs_completed"] += 1
            return True
        self.result["failed_indexes"].append(index)
        if end.tolerable and self.can_fail:
            self.ctx.log.info("foreach %s: index %d failed, tolerated by can_fail: %s", self.ctx.job.job_id, index,
                              end.detail)
            return True
        self.errors[index] = end.detail or "failed"
        return False
