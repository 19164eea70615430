"""The dispatch post-job action: dispatch one job from ``on_success``, ``on_fail`` or ``on_retry``."""

from __future__ import annotations

from typing import Any

from attrs import define, field

from lava_core import ActionContext, ActionType
from lava_core.actions.common import TemplatedDelay

from lava_dispatch.sending import send_to, target


@define(frozen=True, kw_only=True)
class DispatchFields:
    job_id: str
    parameters: dict[str, Any] = field(factory=dict)
    delay: TemplatedDelay = TemplatedDelay(0)


class DispatchAction(ActionType):
    """Dispatch ``job_id`` with ``parameters`` after ``delay``, passing this run's whole globals on.

    The job id, the delay and each string leaf of ``parameters`` are rendered
    (leaf by leaf: a value with a quote or a line break arrives intact, where
    lava's rendering of the whole JSON text broke). A job may dispatch
    itself from an action (a delayed re-run is a common pattern); only the
    dispatch job type refuses that.
    """

    action_name = "dispatch"
    Fields = DispatchFields

    def run(self, ctx: ActionContext, fields: DispatchFields) -> str:
        job_id = ctx.render(fields.job_id, where="job_id").strip()
        parameters = ctx.render_obj(fields.parameters, where="parameters")
        delay = fields.delay.resolve(ctx, where="delay")
        return send_to(ctx.run, target(ctx.run, job_id), parameters=parameters, delay=delay)
