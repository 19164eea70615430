"""What the dispatch job type and the dispatch action share: checking targets and sending to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lava_core import DispatchError, DispatchRequest, Job, SpecError
from lava_core.dispatch import Delay, send
from lava_core.records import JOB_ID_RE

if TYPE_CHECKING:
    from lava_core import RunContext


def id_problem(job_id: str) -> str | None:
    """Why ``job_id`` cannot name a job, or None."""
    if not job_id:
        return "empty job id"
    if not JOB_ID_RE.match(job_id):
        return f"{job_id!r} is not a job id (letters, digits and _ . : @ / + - only)"
    return None


def target(run: RunContext, job_id: str) -> Job:
    """The stored, valid spec of ``job_id``; DispatchError saying why it cannot be dispatched."""
    problem = id_problem(job_id)
    if problem:
        raise DispatchError(problem, job_id=job_id)
    try:
        job = run.backend.load_job(job_id)
    except SpecError as exc:
        msg = f"{job_id!r} has an invalid spec: " + "; ".join(exc.problems)
        raise DispatchError(msg, job_id=job_id) from None
    if job is None:
        msg = f"no such job {job_id!r} in realm {run.realm.realm!r}"
        raise DispatchError(msg, job_id=job_id)
    return job


def sender_globals(run: RunContext) -> dict[str, Any]:
    """The sender's whole current globals, with ``lava.parent_*`` naming the sender.

    ``lava.master_*`` are passed on as they are, so the top-most job stays the
    master through any number of dispatches. Datetimes travel as ISO strings.
    """
    lava = {**run.globals.get("lava", {}), "parent_job_id": run.job.job_id, "parent_start": run.start,
            "parent_ustart": run.ustart}
    return {**run.globals, "lava": lava}


def send_to(run: RunContext, job: Job, *, parameters: dict[str, Any], delay: Delay,
            sender: dict[str, Any] | None = None) -> str:
    """Dispatch ``job`` (already looked up) to its own fleet; returns the child's run id."""
    request = DispatchRequest(job_id=job.job_id, parameters=parameters, delay=delay)
    message = send(run.backend, request, worker=job.worker, sender_globals=sender or sender_globals(run))
    run.log.info("dispatched %s (run %s) to fleet %s", job.job_id, message.run_id, job.worker)
    return message.run_id
