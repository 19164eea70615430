"""The ``state`` action: write (replace) a state item that later runs read through their ``state`` field."""

from __future__ import annotations

import logging
from typing import Any

from attrs import define

from lava_core.actions.common import ActionError, TemplatedChoice, TemplatedDuration, render_optional
from lava_core.convert import Duration
from lava_core.extension import ActionType
from lava_core.run import ActionContext
from lava_core.state import DEFAULT_TTL, MAX_TTL, StateError, StateItem, put_state

log = logging.getLogger("lava.action")


class StateType(TemplatedChoice):
    """``json`` (stored as JSON text) or ``raw`` (stored natively); ``secure`` needs KMS and is not supported."""

    choices = ("json", "raw")


@define(frozen=True, kw_only=True)
class StateFields:
    state_id: str
    value: Any
    type: StateType = StateType("json")
    ttl: TemplatedDuration | None = None
    publisher: str | None = None


class StateAction(ActionType):
    """Write a state item; the id, value (leaf by leaf), type, TTL and publisher are rendered.

    The reserved ``lava`` prefix is checked after rendering, as in lava. The TTL
    defaults to the ``STATE_TTL`` setting (7d) and is capped at ``STATE_MAX_TTL``
    (366d, never more); unlike lava, a capped TTL is logged.
    """

    action_name = "state"
    Fields = StateFields

    def run(self, ctx: ActionContext, fields: StateFields) -> StateItem:
        state_id = ctx.render(fields.state_id, where="state_id").strip()
        value = ctx.render_obj(fields.value, where="value")
        kind = fields.type.resolve(ctx, where="type")
        publisher = render_optional(ctx, fields.publisher, where="publisher") or ctx.run.job.job_id
        ttl = _ttl(ctx, fields.ttl)
        try:
            return put_state(ctx.run.backend, state_id, value, type=kind, ttl=ttl, publisher=publisher)
        except StateError as exc:
            raise ActionError(str(exc)) from None


def _ttl(ctx: ActionContext, field: TemplatedDuration | None) -> float:
    run = ctx.run
    try:
        default = float(Duration(run.setting("STATE_TTL", DEFAULT_TTL)))
        maximum = min(float(Duration(run.setting("STATE_MAX_TTL", MAX_TTL))), MAX_TTL)
    except (TypeError, ValueError) as exc:
        msg = f"bad STATE_TTL or STATE_MAX_TTL setting: {exc}"
        raise ActionError(msg) from None
    ttl = default if field is None else float(field.resolve(ctx, where="ttl"))
    if ttl <= 0:
        msg = f"ttl: must be positive, got {ttl:g}s"
        raise ActionError(msg)
    if ttl > maximum:
        log.warning("state action of %s: ttl %gs capped at STATE_MAX_TTL (%gs)", run.job.job_id, ttl, maximum)
        ttl = maximum
    return ttl
