"""One run of one job, from the enabled check to the post-job actions.

Used for top-level runs (from a queue message) and, later, for the in-process
children of chain/dag/foreach jobs, which pass their ``parent`` context.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attrs import define, evolve

from lava_core.convert import structure
from lava_core.errors import JobError, LavaError, PluginError, SpecError
from lava_core.records import (
    COMPLETE, FAILED, LOGGING, REJECTED, RETRYING, RUNNING, SKIPPED, STARTING, Job, parse_ts,
)
from lava_core.render import RenderError, render_obj
from lava_core.run import ActionContext, EventRecorder, RunContext, Services
from lava_core.state import StateError, current_values
from lava_core.validate import job_params

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("lava.run")

_LAVA_TIMES = ("master_start", "master_ustart", "parent_start", "parent_ustart")


@define(frozen=True)
class RunOutcome:
    """How a run ended: ``complete``, ``failed``, ``skipped`` or ``rejected`` (with why)."""

    status: str
    result: dict[str, Any] | None = None
    reason: str | None = None


def execute(services: Services, job: Job, *, run_id: str, ts_dispatch: str | None,
            parent: RunContext | None = None) -> RunOutcome:
    """Run ``job`` (already merged with its dispatch overrides) and record every step."""
    lineage = _lineage(job, parent)
    recorder = EventRecorder(services, job.job_id, run_id, ts_dispatch, lineage)
    if job.enabled is False:
        recorder.record(SKIPPED, "Job not enabled (static)")
        return RunOutcome(SKIPPED)
    start = recorder.record(STARTING, None, defer=True)
    try:
        return _execute_started(services, job, run_id=run_id, ts_dispatch=ts_dispatch, parent=parent,
                                recorder=recorder, start=start)
    except Exception as exc:
        if services.processes.killing.is_set():
            raise  # the worker is stopping hard: leave the run as it is, its message reappears
        # Whatever went wrong, the run gets a terminal status: never stuck at `starting`.
        log.exception("internal error running %s (%s)", job.job_id, run_id)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        recorder.record(FAILED, {"error": reason, "error_data": None})
        return RunOutcome(FAILED, reason=reason)


def _reject(recorder: EventRecorder, reason: str) -> RunOutcome:
    recorder.record(REJECTED, reason)
    return RunOutcome(REJECTED, reason=reason)


def _execute_started(services: Services, job: Job, *, run_id: str, ts_dispatch: str | None,
                     parent: RunContext | None, recorder: EventRecorder, start: datetime) -> RunOutcome:
    dispatched_at = parse_ts(ts_dispatch) if ts_dispatch else None
    too_late = (job.max_run_delay is not None and dispatched_at is not None and parent is None
                and (start - dispatched_at).total_seconds() > job.max_run_delay)
    if too_late:
        return _reject(recorder, f"dispatch is more than {job.max_run_delay.text} old")
    try:
        globals_ = _with_lava_globals(job, parent, start)
    except ValueError as exc:
        return _reject(recorder, str(exc))
    try:
        job_type = services.host.job_type(job.type)
        params = job_params(services.host, job)
    except PluginError as exc:
        return _reject(recorder, str(exc))
    except SpecError as exc:
        return _reject(recorder, "Bad job parameters: " + "; ".join(exc.problems))
    problems = job_type.validate(job, params)
    if problems:
        return _reject(recorder, "Bad job spec: " + "; ".join(problems))

    try:
        state = current_values(services.backend, job.state) if job.state else {}
    except StateError as exc:
        return _reject(recorder, f"Bad state: {exc}")
    workdir = parent.workdir if parent else services.scratch_dir()
    ctx = RunContext(job=job, run_id=run_id, ts_dispatch=dispatched_at, start=start, services=services,
                     globals=globals_, state=state, workdir=workdir, recorder=recorder, parent=parent,
                     log=logging.LoggerAdapter(log, {"job_id": job.job_id, "run_id": run_id}))
    if job.event_log is not None:
        try:
            info = render_obj(job.event_log, ctx.render_vars(), where="event_log")
        except RenderError as exc:
            info = f"Error: Bad event_log: {exc}"
        recorder.record(LOGGING, info)
    if isinstance(job.enabled, str):
        try:
            rendered = ctx.render(job.enabled, where="enabled")
        except RenderError as exc:
            return _reject(recorder, f"Bad enabled template: {exc}")
        if rendered.strip().lower() != "true":
            recorder.record(SKIPPED, f"Job not enabled (enabled={rendered!r})")
            return RunOutcome(SKIPPED)
    if parent is None:
        workdir.mkdir(parents=True, exist_ok=True)  # a no-op after the thread's first run
    try:
        outcome = _attempts(ctx, job_type, params)
    finally:
        if parent is None:
            _cleanup(workdir, run_id, keep=services.keep_failed and ctx.recorder.last_status == FAILED)
    return outcome


def _attempts(ctx: RunContext, job_type: Any, params: Any) -> RunOutcome:
    job = ctx.job
    services = ctx.services
    services.host.run_started(ctx)
    result: dict[str, Any] | None = None
    for iteration in range(1, job.iteration_limit + 1):
        ctx.iteration = iteration
        ctx.globals["lava"]["iteration"] = iteration
        ctx.recorder.record(RUNNING, f"Iteration {iteration}", defer=True)
        try:
            result = job_type.run(ctx, params) or {}
        except Exception as exc:
            if services.processes.killing.is_set():
                raise
            failure = _failure(exc, services)
            last = iteration == job.iteration_limit
            ctx.recorder.record(FAILED if last else RETRYING, failure)
            run_actions(ctx, "on_fail" if last else "on_retry", FAILED if last else RETRYING, failure)
            if last:
                services.host.run_finished(ctx, FAILED, failure)
                return RunOutcome(FAILED, failure, reason=failure["error"])
            time.sleep(float(job.iteration_delay))
            continue
        ctx.recorder.record(COMPLETE, result)
        run_actions(ctx, "on_success", COMPLETE, result)
        services.host.run_finished(ctx, COMPLETE, result)
        return RunOutcome(COMPLETE, result)
    return RunOutcome(COMPLETE, result)  # unreachable: iteration_limit >= 1 is validated


def _failure(exc: BaseException, services: Services) -> dict[str, Any]:
    if isinstance(exc, JobError):
        failure: dict[str, Any] = {"error": exc.message, "error_data": exc.data}
    elif isinstance(exc, LavaError):
        failure = {"error": exc.message, "error_data": None}
    else:
        failure = {"error": f"{type(exc).__name__}: {exc}", "error_data": None}
    if str(services.setting("DEBUG", "")).lower() in ("1", "true", "yes"):
        failure["exception"] = traceback.format_exception(exc)
    return failure


def run_actions(ctx: RunContext, key: str, status: str, result: dict[str, Any] | None) -> None:
    """Run every action of ``key``; each failure is recorded and the others still run."""
    actions = getattr(ctx.job, key)
    if actions is None:
        actions = getattr(ctx.realm, key) or []
    actx = ActionContext(run=ctx, key=key, status=status, result=result)
    for index, action in enumerate(actions):
        name = action.get("action", "?")
        try:
            action_type = ctx.services.host.action(name)
            fields = structure({k: v for k, v in action.items() if k != "action"}, action_type.Fields,
                               root=f"$.{key}[{index}]")
            action_type.run(actx, fields)
        except Exception as exc:  # noqa: BLE001 - an action never changes the job's outcome
            ctx.log.warning("%s action %d (%s) failed: %s", key, index, name, exc)
            ctx.recorder.record("action_failed", f"{key} action {index} ({name}): {exc}", keep_status=True)


def _lineage(job: Job, parent: RunContext | None) -> dict[str, str]:
    if parent is None:
        lava = job.globals.get("lava") if isinstance(job.globals.get("lava"), dict) else {}
        master = lava.get("master_job_id")
        parent_id = lava.get("parent_job_id")
        return {k: v for k, v in (("master_job_id", master), ("parent_job_id", parent_id)) if v}
    return {"master_job_id": parent.globals["lava"]["master_job_id"], "parent_job_id": parent.job.job_id}


def _with_lava_globals(job: Job, parent: RunContext | None, start: datetime) -> dict[str, Any]:
    """Merged globals with ``globals.lava`` filled in; upstream values win (lava's setdefault).

    Each run gets its own copy of the ``lava`` map, so children never write into
    their parent's (a race in lava's dags).
    """
    globals_ = dict(job.globals)
    lava = dict(globals_.get("lava") or {})
    if parent is not None:
        lava = {**parent.globals["lava"], **lava}
        lava.update(parent_job_id=parent.job.job_id, parent_start=parent.start, parent_ustart=parent.ustart)
    for key in _LAVA_TIMES:
        if isinstance(lava.get(key), str):
            try:
                lava[key] = parse_ts(lava[key])
            except ValueError:
                msg = f"globals.lava.{key}: bad timestamp {lava[key]!r}"
                raise ValueError(msg) from None
    lava.setdefault("master_job_id", job.job_id)
    lava.setdefault("master_start", start)
    lava.setdefault("master_ustart", lava["master_start"].astimezone(UTC))
    lava.setdefault("parent_job_id", job.job_id)
    lava.setdefault("parent_start", start)
    lava.setdefault("parent_ustart", lava["parent_start"].astimezone(UTC))
    globals_["lava"] = lava
    return globals_


def _cleanup(workdir: Path, run_id: str, *, keep: bool) -> None:
    """Empty the thread's scratch folder; a kept failed run's folder is renamed after its run id.

    Never raises: the run's outcome is already recorded and must not change.
    """
    try:
        if keep:
            # Outside the worker's own folder, which goes when the worker exits.
            kept = workdir.parent.parent / "failed-runs" / run_id
            kept.parent.mkdir(parents=True, exist_ok=True)
            workdir.rename(kept)
            log.info("kept the run folder of failed run %s at %s (--keep-failed)", run_id, kept)
            return
        with os.scandir(workdir) as entries:
            leftovers = list(entries)
        for entry in leftovers:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)  # noqa: PTH108 - a DirEntry path; no Path object needed
    except OSError:
        log.exception("cleaning the scratch folder %s after run %s failed", workdir, run_id)


def merged_job(job: Job, parameters: dict[str, Any], globals_: dict[str, Any]) -> Job:
    """lava's merge: dispatch values replace spec values key by key at the top level only."""
    if not parameters and not globals_:
        return job  # nothing to merge: records are frozen, sharing is safe
    return evolve(job, parameters={**job.parameters, **parameters}, globals={**job.globals, **globals_})


__all__ = ["RunOutcome", "execute", "merged_job", "run_actions"]
