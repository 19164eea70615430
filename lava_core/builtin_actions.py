"""Post-job actions that ship with the core: ``log`` and ``event``.

Registered through the same hooks as any third-party plugin (the host loads
this module as the built-in plugin of distribution lava-core).
"""

from __future__ import annotations

import logging
from typing import Any

from attrs import define, field

from lava_core.extension import ActionType
from lava_core.hookspecs import hookimpl
from lava_core.plugins import Registrar
from lava_core.run import ActionContext

log = logging.getLogger("lava.action")


@define(frozen=True, kw_only=True)
class LogFields:
    message: str


class LogAction(ActionType):
    """Write a rendered message to the worker log, tagged with the job and run."""

    action_name = "log"
    Fields = LogFields

    def run(self, ctx: ActionContext, fields: LogFields) -> str:
        text = ctx.render(fields.message, where=f"{ctx.key}.message")
        log.info("%s [job %s run %s]", text, ctx.run.job.job_id, ctx.run.run_id)
        return text


@define(frozen=True, kw_only=True)
class EventFields:
    detail: dict[str, Any] | None = None
    detail_type: str = "Lava Job Action"
    source: str | None = None
    event_bus: str | None = None
    resources: list[str] = field(factory=list)


class EventAction(ActionType):
    """Publish an event on the realm's event bus (EventBridge on AWS, a table locally).

    Unlike lava, the default detail works in on_fail/on_retry too: the exit
    status is taken from the result when there is one and is null otherwise.
    """

    action_name = "event"
    Fields = EventFields

    def run(self, ctx: ActionContext, fields: EventFields) -> str:
        run = ctx.run
        result = ctx.result or {}
        detail = fields.detail
        if detail is None:
            detail = {"realm": run.realm.realm, "worker": run.worker, "job_id": run.job.job_id,
                      "run_id": run.run_id, "status": ctx.status, "exit_status": result.get("exit_status")}
        else:
            detail = ctx.render_obj(detail, where=f"{ctx.key}.detail")
        return run.backend.put_bus_event(
            source=ctx.render(fields.source or f"lava.{run.realm.realm}", where=f"{ctx.key}.source"),
            detail_type=ctx.render(fields.detail_type, where=f"{ctx.key}.detail_type"),
            detail=detail, resources=[ctx.render(r, where=f"{ctx.key}.resources") for r in fields.resources],
            event_bus=fields.event_bus)


@hookimpl
def lava_register_actions(register: Registrar) -> None:
    register(LogAction)
    register(EventAction)
