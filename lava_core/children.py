"""In-process child runs: how chain, dag and foreach jobs run other jobs.

A child runs synchronously in the parent's thread (or a thread the parent
owns), under the parent's run_id, in the parent's scratch folder, with its own
events item, enabled check, iterations and actions. Its globals are its spec's,
overridden by the parent's current globals, overridden by ``globals`` given
here (foreach's iteration values). ``globals.lava`` is a fresh copy per child:
``master_*`` stay the top job's, ``parent_*`` become the parent's.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve

from lava_core.errors import LavaError, SpecError
from lava_core.lifecycle import RunOutcome, execute
from lava_core.run import RunContext


class ChildConfigError(LavaError):
    """A child that cannot be run at all (missing, invalid, other fleet): never tolerated by ``can_fail``."""


def run_child(parent: RunContext, job_id: str, *, globals: dict[str, Any] | None = None,  # noqa: A002 - lava's name
              lava: dict[str, Any] | None = None) -> RunOutcome:
    """Run the stored job ``job_id`` as a child of ``parent`` and return how it ended.

    ``lava`` adds keys to the child's ``globals.lava`` (``foreach_index``).
    Raises :class:`ChildConfigError` when the child is missing, its spec is
    invalid, or it belongs to another fleet; the child's own failures are
    returned as outcomes, never raised.
    """
    try:
        job = parent.backend.load_job(job_id)
    except SpecError as exc:
        msg = f"Job {job_id}: invalid spec: " + "; ".join(exc.problems)
        raise ChildConfigError(msg) from exc
    if job is None:
        msg = f"Job {job_id}: no such job"
        raise ChildConfigError(msg)
    if job.worker != parent.worker:
        msg = f"Job {job_id}: Worker mismatch: Expected {parent.worker} but got {job.worker}"
        raise ChildConfigError(msg)
    inherited = {k: v for k, v in parent.globals.items() if k != "lava"}
    merged = {**job.globals, **inherited, **(globals or {})}
    merged["lava"] = dict(lava or {})
    child = evolve(job, globals=merged)
    return execute(parent.services, child, run_id=parent.run_id, ts_dispatch=parent.recorder.ts_dispatch,
                   parent=parent)


__all__ = ["ChildConfigError", "run_child"]
