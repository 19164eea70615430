"""What chain, dag and foreach share: running one child, judging how it ended, a bounded pool.

A child ends in one of three ways that matter to its parent:

* **ok**: ``complete``, or ``skipped`` (a disabled child counts as done, as in lava);
* **failed**: the child ran and failed; ``can_fail`` may tolerate it;
* **not runnable**: the child is missing, invalid, on another fleet, already
  running higher up the same hierarchy, or was ``rejected`` before its first
  attempt (bad parameters, unknown type, a ``validate()`` problem). These are
  configuration errors: never tolerated.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from fnmatch import fnmatchcase
from typing import Any, Generic, TypeVar

from attrs import define

from lava_core import ChildConfigError, JobError, LavaError, RunContext, run_child

COMPLETE = "complete"
SKIPPED = "skipped"
FAILED = "failed"
REJECTED = "rejected"
NOT_RUNNABLE = "not runnable"

K = TypeVar("K")


@define(frozen=True)
class ChildEnd:
    """How one child run ended, as its parent sees it.

    ``detail`` says why it did not succeed, without the ``Job <id>: `` prefix
    (each parent type words its own error around it).
    """

    job_id: str
    status: str
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (COMPLETE, SKIPPED)

    @property
    def tolerable(self) -> bool:
        """Only a run that failed may be tolerated by ``can_fail``; configuration errors never are."""
        return self.status == FAILED


def run_one(run: RunContext, job_id: str, *, globals: dict[str, Any] | None = None,  # noqa: A002 - lava's name
            lava: dict[str, Any] | None = None) -> ChildEnd:
    """Run the stored job ``job_id`` as a child of ``run``; never raises except on a hard stop."""
    lineage = ancestors(run)
    if job_id in lineage:
        # A job running inside itself would recurse until the worker ran out of stack or threads.
        return ChildEnd(job_id, NOT_RUNNABLE, f"would run inside itself: {' -> '.join([*lineage, job_id])}")
    try:
        outcome = run_child(run, job_id, globals=globals, lava=lava)
    except ChildConfigError as exc:
        return ChildEnd(job_id, NOT_RUNNABLE, str(exc).removeprefix(f"Job {job_id}: "))
    except Exception as exc:
        if run.services.processes.killing.is_set():
            raise  # the worker is stopping hard: let the parent's run end the same way
        # A backend error while loading the child, for instance: the child did not run.
        detail = str(exc) if isinstance(exc, LavaError) else f"{type(exc).__name__}: {exc}"
        return ChildEnd(job_id, NOT_RUNNABLE, f"cannot run: {detail}")
    if outcome.status in (COMPLETE, SKIPPED):
        return ChildEnd(job_id, outcome.status)
    if outcome.status == REJECTED:
        return ChildEnd(job_id, NOT_RUNNABLE, f"rejected: {outcome.reason}")
    return ChildEnd(job_id, FAILED, outcome.reason or "failed")


def ancestors(run: RunContext) -> list[str]:
    """Job ids from the top of the hierarchy down to ``run``'s job."""
    ids = []
    node: RunContext | None = run
    while node is not None:
        ids.append(node.job.job_id)
        node = node.parent
    return ids[::-1]


def self_reference(job_id: str, children: list[str], kind: str) -> list[str]:
    """A validation problem when a parent names itself among its children."""
    return [f"$.payload: the {kind} {job_id} runs itself"] if job_id in children else []


def patterns_of(can_fail: str | list[str]) -> list[str]:
    """``can_fail`` as a list of globs (lava takes one glob or a list)."""
    return [can_fail] if isinstance(can_fail, str) else list(can_fail)


def tolerated(end: ChildEnd, patterns: list[str]) -> bool:
    """True when ``end`` is a failure that one of the ``can_fail`` globs forgives (``fnmatchcase``)."""
    return end.tolerable and any(fnmatchcase(end.job_id, p) for p in patterns)


def id_problem(value: object, path: str) -> str | None:
    """Why ``value`` cannot be a child job id (None when it can), as a ``$.path: message`` line."""
    if not isinstance(value, str):
        return f"{path}: expected a job id string, got {value!r}"
    if not value.strip():
        return f"{path}: empty job id"
    if any(c.isspace() or c == "," for c in value):
        return f"{path}: {value!r} is not a job id (no spaces or commas; write several ids as a list)"
    return None


def fail(message: str, result: dict[str, Any]) -> JobError:
    """The JobError ending a parent run: its partial result gets ``exit_status`` 1 and ``error``."""
    return JobError(message, data={**result, "exit_status": 1, "error": message})


def int_setting(run: RunContext, name: str, default: int) -> int:
    """A positive integer worker setting (env ``LAVA_<NAME>`` or realm config); a bad value fails the run."""
    value = run.setting(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1 or (isinstance(value, float) and value != number):
        msg = f"setting {name} must be a positive integer, got {value!r}"
        raise JobError(msg, data={"exit_status": 1, "error": msg})
    return number


def cpu_count() -> int:
    return os.cpu_count() or 1


class ChildPool(Generic[K]):
    """A transient thread pool running at most ``size`` children at once.

    The caller keeps its own queue of what may start next and starts a child only
    when :meth:`has_room`, so "not yet started" always means "not handed to a
    thread": aborting is simply not starting more. Leaving the ``with`` block
    waits for the children still running.
    """

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        prefix = f"{threading.current_thread().name}-{name}"
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=prefix)
        self._running: dict[Future[ChildEnd], K] = {}
        self._order: dict[K, int] = {}

    def __enter__(self) -> ChildPool[K]:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(wait=True)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def has_room(self) -> bool:
        return len(self._running) < self.size

    def start(self, key: K, fn: Callable[..., ChildEnd], *args: Any, **kwargs: Any) -> None:
        self._order[key] = len(self._order)
        self._running[self._pool.submit(fn, *args, **kwargs)] = key

    def next_done(self) -> list[tuple[K, ChildEnd]]:
        """Wait until at least one child ends; those that ended, in the order they were started.

        A child that raised (only on a hard stop) re-raises here.
        """
        done, _ = wait(self._running, return_when=FIRST_COMPLETED)
        ended = sorted(((self._running.pop(f), f) for f in done), key=lambda kf: self._order[kf[0]])
        return [(key, future.result()) for key, future in ended]

