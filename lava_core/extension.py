"""Base classes plugin authors subclass: job types, post-job actions, trigger sources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

if TYPE_CHECKING:
    from lava_core.records import Job
    from lava_core.run import ActionContext, RunContext


@attrs.define(frozen=True)
class NoParams:
    """Params class for job types that take no parameters (any key is refused)."""


class JobType:
    """A kind of job (``cmd``, ``docker``, ``dag``…).

    Subclasses set ``type_name`` and ``Params`` (an attrs class). The core
    structures the job's merged ``parameters`` into ``Params`` with the one
    converter, so a bad parameter is reported as ``$.parameters.<field>``
    before anything runs.
    """

    type_name: ClassVar[str]
    Params: ClassVar[type] = NoParams

    def validate(self, job: Job, params: Any) -> list[str]:  # noqa: ARG002 - hook for subclasses
        """Extra checks run by ``lava job put``/``validate`` and before a run.

        Return problems as ``$.path: message`` lines; an empty list means valid.
        """
        return []

    def run(self, run: RunContext, params: Any) -> dict[str, Any]:
        """Run one attempt; return the result recorded with ``complete``.

        Raise :class:`lava_core.JobError` (with ``data``, the partial result) to
        fail the attempt; any other exception fails it too, with its text.
        """
        raise NotImplementedError  # abstract: every concrete job type defines run


class ActionType:
    """A post-job action (``log``, ``dispatch``, ``email``…)."""

    action_name: ClassVar[str]
    Fields: ClassVar[type]

    def run(self, ctx: ActionContext, fields: Any) -> Any:
        """Carry out the action. Raise to record an ``action_failed`` entry."""
        raise NotImplementedError  # abstract: every concrete action defines run


class TriggerSource:
    """Turns a raw external event into dispatch requests (storage events, bus events…)."""

    trigger_name: ClassVar[str]

    def requests(self, event: Any, *, backend: Any) -> list[Any]:
        """Return the dispatch requests this event produces (possibly none)."""
        raise NotImplementedError  # abstract: every concrete trigger source defines requests
