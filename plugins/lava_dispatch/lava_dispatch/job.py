"""The dispatch job type: send a dispatch message for each job in the payload."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from lava_core import DispatchError, Job, JobError, JobType, RunContext
from lava_core.actions.common import TemplatedDelay, is_template

from lava_dispatch.sending import id_problem, send_to, sender_globals, target


@define(frozen=True, kw_only=True)
class DispatchParams:
    """Parameters of a dispatch job."""

    parameters: dict[str, Any] = field(factory=dict)
    delay: TemplatedDelay = TemplatedDelay(0)
    jinja: bool = True
    job_prefix: str = ""


class DispatchJob(JobType):
    """Payload: job ids, as a list or a comma-separated string; ``job_prefix`` is put before each.

    With ``jinja`` (the default) the payload, the prefix, the delay and each
    string leaf of ``parameters`` are rendered; a rendered payload string or
    element may hold several comma-separated ids, and ids that render empty are
    left out. Every target is checked (a valid id, not this job, listed once,
    stored with a valid spec) before anything is sent, so a bad list dispatches
    nothing.
    """

    type_name = "dispatch"
    Params = DispatchParams

    def validate(self, job: Job, params: DispatchParams) -> list[str]:
        units, problems = payload_units(job.payload)
        if problems:
            return problems
        # Without Jinja every entry is literal; with it, templates are checked once rendered.
        literal = [(path, text) for path, text in units if not (params.jinja and is_template(text))]
        for path, text in literal:
            problems += [f"{path}: empty job id in {text!r}" for part in text.split(",") if not part.strip()]
        if problems or (params.jinja and is_template(params.job_prefix)):
            return problems
        return target_problems(job.job_id, split_ids(literal, params.job_prefix))

    def run(self, run: RunContext, params: DispatchParams) -> dict[str, Any]:
        units, _ = payload_units(run.job.payload)  # validated before the run
        if params.jinja:
            prefix = run.render(params.job_prefix, where="parameters.job_prefix")
            units = [(path, run.render(text, where=path)) for path, text in units]
            parameters = run.render_obj(params.parameters, where="parameters.parameters")
        else:
            prefix, parameters = params.job_prefix, params.parameters
        ids = split_ids(units, prefix)
        delay = params.delay.resolve(run if params.jinja else None, where="parameters.delay")
        problems = target_problems(run.job.job_id, ids)
        jobs = []
        for path, job_id in ids if not problems else []:
            try:
                jobs.append(target(run, job_id))
            except DispatchError as exc:
                problems.append(f"{path}: {exc}")
        if problems:
            raise JobError("Nothing dispatched: " + "; ".join(problems),
                           data={"exit_status": 1, "jobs": [], "run_ids": {}})
        sender = sender_globals(run)
        run_ids: dict[str, str] = {}
        for job in jobs:
            try:
                run_ids[job.job_id] = send_to(run, job, parameters=parameters, delay=delay, sender=sender)
            except DispatchError as exc:
                raise JobError(f"{exc} ({len(run_ids)} of {len(jobs)} dispatched before it)",
                               data={"exit_status": 1, "jobs": list(run_ids), "run_ids": run_ids}) from exc
        return {"exit_status": 0, "jobs": list(run_ids), "run_ids": run_ids}


def payload_units(payload: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """``(path, text)`` for the payload string or each list element, and what is wrong with its shape."""
    if isinstance(payload, str) and payload.strip():
        return [("$.payload", payload)], []
    if isinstance(payload, list) and payload and all(isinstance(p, str) for p in payload):
        return [(f"$.payload[{i}]", p) for i, p in enumerate(payload)], []
    return [], [f"$.payload: dispatch needs a list of job ids or a comma-separated string, got {payload!r}"]


def split_ids(units: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    """``(path, prefixed job id)`` for each comma-separated id; empty entries are dropped."""
    return [(path, prefix + part.strip()) for path, text in units for part in text.split(",") if part.strip()]


def target_problems(own_id: str, ids: list[tuple[str, str]]) -> list[str]:
    """Bad ids, circular dispatch (this job itself) and ids listed twice."""
    problems, seen = [], set()
    for path, job_id in ids:
        problem = id_problem(job_id)
        if problem:
            problems.append(f"{path}: {problem}")
        elif job_id == own_id:
            problems.append(f"{path}: {job_id}: circular dispatch not permitted (a job cannot dispatch itself)")
        elif job_id in seen:
            problems.append(f"{path}: {job_id!r} is listed twice")
        seen.add(job_id)
    return problems
