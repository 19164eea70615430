"""From a received queue message to a run: every check before the job starts.

Bad input never crashes the worker and never loses a dispatch: a message that
cannot be run gets an event record (status ``rejected``) saying which field is
wrong, and is moved to the fleet's dead-letter place instead of being deleted.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from attrs import define

from lava_core.backend import ReceivedMessage
from lava_core.errors import SpecError
from lava_core.lifecycle import RunOutcome, execute, merged_job
from lava_core.records import REJECTED, DispatchMessage, Job, iso, load_job, load_message, now_local
from lava_core.run import EventRecorder, Services

log = logging.getLogger("lava.worker")


@define(frozen=True)
class Disposition:
    """What to do with the message once handled: delete it, or dead-letter it with a reason."""

    outcome: RunOutcome
    job_id: str
    run_id: str
    dead_letter_reason: str | None = None


def handle_message(services: Services, received: ReceivedMessage, *, max_receives: int | None) -> Disposition:
    """Check and run one message. Never raises for bad input."""
    body: Any = None
    try:
        body = json.loads(received.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _refuse(services, body, received, f"$: message body is not JSON: {exc}")
    try:
        message = load_message(body)
    except SpecError as exc:
        return _refuse(services, body, received, "Malformed dispatch message: " + "; ".join(exc.problems))
    if message.realm != services.realm.realm:
        return _refuse(services, body, received,
                       f"$.realm: message is for realm {message.realm!r}, this worker serves {services.realm.realm!r}")
    if message.worker != services.worker:
        return _refuse(services, body, received,
                       f"$.worker: message is for fleet {message.worker!r}, this worker is {services.worker!r}")
    if max_receives is not None and received.receive_count > max_receives:
        return _refuse(services, body, received,
                       f"delivered {received.receive_count} times, more than the worker's limit of {max_receives}")
    try:
        job = services.backend.load_job(message.job_id)
    except SpecError as exc:
        return _refuse(services, body, received, "Bad job spec: " + "; ".join(exc.problems))
    if job is None:
        return _refuse(services, body, received, f"$.job_id: no such job {message.job_id!r}")
    if job.worker != services.worker:
        return _refuse(services, body, received,
                       f"Worker mismatch: job {job.job_id!r} runs on fleet {job.worker!r}, "
                       f"this worker is {services.worker!r}")
    if 0 < job.max_tries < received.receive_count:
        return _refuse(services, body, received,
                       f"max_tries exceeded: delivery {received.receive_count} of at most {job.max_tries}")
    outcome = run_job(services, message, job)
    reason = outcome.reason if outcome.status == REJECTED else None
    return Disposition(outcome, message.job_id, message.run_id, reason)


def run_message(services: Services, message: DispatchMessage, *, job_spec: dict[str, Any]) -> RunOutcome:
    """Load the stored spec, merge the message's overrides into it and run it."""
    return run_job(services, message, load_job(job_spec, source=f"job {message.job_id}"))


def run_job(services: Services, message: DispatchMessage, job: Job) -> RunOutcome:
    """Merge the message's overrides into an already loaded spec and run it."""
    job = merged_job(job, message.parameters, message.globals)
    return execute(services, job, run_id=message.run_id, ts_dispatch=message.ts_dispatch)


def _refuse(services: Services, body: Any, received: ReceivedMessage, reason: str) -> Disposition:
    """Record a ``rejected`` event for a message that cannot run, then dead-letter it."""
    fields = body if isinstance(body, dict) else {}
    job_id = fields.get("job_id") if isinstance(fields.get("job_id"), str) and fields["job_id"] else "(unknown)"
    run_id = fields.get("run_id") if _is_uuid(fields.get("run_id")) else received.message_id
    ts_dispatch = fields.get("ts_dispatch") if isinstance(fields.get("ts_dispatch"), str) else iso(now_local())
    log.error("rejected message %s (job %s run %s): %s", received.message_id, job_id, run_id, reason)
    try:
        EventRecorder(services, job_id, run_id, ts_dispatch).record(REJECTED, reason)
    except Exception:
        log.exception("could not record the rejection of message %s", received.message_id)
    return Disposition(RunOutcome(REJECTED, reason=reason), job_id, run_id, reason)


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
