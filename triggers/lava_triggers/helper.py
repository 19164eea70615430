"""The dispatch helper: dispatch requests delivered by SNS, SQS, EventBridge or a direct invocation.

Requests are lava's two formats, parsed by the core's one parser
(:func:`lava_core.dispatch.parse_requests`): CLI-style lines
(``JOB [-d DUR] [-p a.b=v]... [-g k=v]...``) or JSON (a request map or a list of
them). A bad line or item is reported with its line number or JSON path and
never stops the good ones delivered with it.

Where requests are found:

* SNS: the ``Message``; SQS: each message ``body`` (an SNS notification inside
  a body is unwrapped);
* EventBridge: the event's ``detail`` is a request map (with ``job_id``), or has
  ``requests`` holding a list of request maps or CLI-style text; a body that is
  an EventBridge event (an SQS target of a rule) is read the same way;
* a direct invocation: a request map, a list of them, CLI-style text, or
  ``{"requests": …}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from lava_core.dispatch import DispatchRequest, parse_json_requests, parse_requests
from lava_core.extension import TriggerSource

from lava_triggers.envelope import Delivery, deliveries, is_eventbridge, is_sqs_batch
from lava_triggers.report import ItemReport, Planned, TriggerReport

if TYPE_CHECKING:
    from lava_core.backend import Backend


class DispatchHelperSource(TriggerSource):
    """``dispatch-helper``: lava's dispatch helper Lambda, as a trigger source."""

    trigger_name: ClassVar[str] = "dispatch-helper"

    def requests(self, event: Any, *, backend: Backend) -> list[DispatchRequest]:
        return self.explain(event, backend=backend, dry_run=False).requests()

    def explain(self, event: Any, *, backend: Backend, dry_run: bool = True) -> TriggerReport:  # noqa: ARG002 - same signature as every source
        """Parse every delivered message; nothing is sent (see :meth:`TriggerReport.send`)."""
        report = TriggerReport(self.trigger_name, batch=is_sqs_batch(event), dry_run=dry_run)
        for delivery in deliveries(event):
            item = ItemReport(delivery)
            requests, errors = self._parse(delivery)
            item.errors += errors
            item.planned += [Planned(r, origin=origin) for origin, r in requests]
            item.lines.append(f"{len(requests)} request(s), {len(errors)} bad")
            report.items.append(item)
        return report

    def _parse(self, delivery: Delivery) -> tuple[list[tuple[str, DispatchRequest]], list[str]]:
        body = delivery.body
        if isinstance(body, str):
            decoded = _json_or_none(body)
            if is_eventbridge(decoded):
                return _labelled(*_from_detail(decoded))
            return _labelled(*parse_requests(body))
        if is_eventbridge(body):
            return _labelled(*_from_detail(body))
        if isinstance(body, dict) and "requests" in body and "job_id" not in body:
            return _labelled(*_from_requests_field(body["requests"], "$.requests"))
        if isinstance(body, list) or (isinstance(body, dict) and "job_id" in body):
            return _labelled(*parse_json_requests(body))
        shown = repr(body)[:120]
        return [], [f"$: not a dispatch request (expected SQS/SNS records, an EventBridge event, a request map "
                    f"with job_id, a list of them or CLI-style text), got {shown}"]


def _json_or_none(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _from_detail(event: dict[str, Any]) -> tuple[list[DispatchRequest], list[str]]:
    detail = event.get("detail")
    if isinstance(detail, dict) and "job_id" in detail:
        requests, errors = parse_json_requests(detail)
        return requests, [e.replace("$", "$.detail", 1) for e in errors]
    if isinstance(detail, dict) and "requests" in detail:
        return _from_requests_field(detail["requests"], "$.detail.requests")
    return [], [f"$.detail: EventBridge event from {event.get('source')!r} ({event.get('detail-type')!r}) holds no "
                "dispatch request: expected job_id, or requests (a list of request maps or CLI-style text)"]


def _from_requests_field(value: Any, path: str) -> tuple[list[DispatchRequest], list[str]]:
    if isinstance(value, str):
        requests, errors = parse_requests(value)
        return requests, [f"{path}: {e}" for e in errors]
    if isinstance(value, list | dict):
        requests, errors = parse_json_requests(value)
        return requests, [e.replace("$", path, 1) for e in errors]
    return [], [f"{path}: expected a list of request maps or CLI-style text, got {type(value).__name__}"]


def _labelled(requests: list[DispatchRequest], errors: list[str]) -> tuple[list[tuple[str, DispatchRequest]], list[str]]:
    return [(f"request {n}", r) for n, r in enumerate(requests, start=1)], errors
