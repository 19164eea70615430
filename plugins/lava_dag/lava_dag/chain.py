"""The chain job type: run stored jobs one after the other, in this worker thread."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from lava_core import Job, JobType, RunContext

from lava_dag.common import fail, id_problem, patterns_of, run_one, self_reference, tolerated


@define(frozen=True, kw_only=True)
class ChainParams:
    """Parameters of a chain job (lava's names)."""

    job_prefix: str = ""
    start: str | None = None
    can_fail: str | list[str] = field(factory=list)


def chain_ids(payload: object) -> tuple[list[str], list[str]]:
    """The payload's job ids (a comma-separated string or a list) and the problems found."""
    if isinstance(payload, str):
        items: list[Any] = [part.strip() for part in payload.split(",")]
        paths = [f"$.payload (item {i + 1})" for i in range(len(items))]
    elif isinstance(payload, list):
        items = list(payload)
        paths = [f"$.payload[{i}]" for i in range(len(items))]
    else:
        return [], [f"$.payload: chain needs a comma-separated string or a list of job ids, got {payload!r}"]
    if items in ([], [""]):
        return [], ["$.payload: the chain is empty"]
    problems = [p for p in (id_problem(item, path) for item, path in zip(items, paths, strict=True)) if p]
    return (items if not problems else []), problems


def selected(ids: list[str], params: ChainParams) -> list[str]:
    """The prefixed ids from ``start`` on (its first occurrence); KeyError naming ``start`` if absent."""
    ids = [params.job_prefix + job_id for job_id in ids]
    if params.start is None:
        return ids
    start = params.job_prefix + params.start
    if start not in ids:
        raise KeyError(start)
    return ids[ids.index(start):]


class ChainJob(JobType):
    """Payload: job ids, ``"a, b, c"`` or ``[a, b, c]``. Runs them in order, in-process.

    A disabled child is skipped and counts as done; a failed child stops the
    chain unless ``can_fail`` matches its id; a child that cannot run at all
    (missing, invalid, other fleet, rejected) always stops it.
    """

    type_name = "chain"
    Params = ChainParams

    def validate(self, job: Job, params: ChainParams) -> list[str]:
        ids, problems = chain_ids(job.payload)
        if problems:
            return problems
        problems += self_reference(job.job_id, [params.job_prefix + job_id for job_id in ids], "chain")
        try:
            selected(ids, params)
        except KeyError as exc:
            problems.append(f"$.parameters.start: requested start job {exc.args[0]} is not present in the chain")
        return problems

    def run(self, run: RunContext, params: ChainParams) -> dict[str, Any]:
        ids, _ = chain_ids(run.job.payload)  # validate() has passed before run() is called
        patterns = patterns_of(params.can_fail)
        result: dict[str, Any] = {"exit_status": 0, "jobs": [], "failed_jobs": []}
        for job_id in selected(ids, params):
            end = run_one(run, job_id)
            if end.ok:
                result["jobs"].append(job_id)
                continue
            result["failed_jobs"].append(job_id)
            if tolerated(end, patterns):
                run.log.info("chain %s: %s failed, tolerated by can_fail: %s", run.job.job_id, job_id, end.detail)
                continue
            raise fail(f"Job {job_id}: {end.detail}", result)
        return result
