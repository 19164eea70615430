"""Delivery envelopes: what AWS wraps around a message before a Lambda sees it.

One raw event becomes a list of :class:`Delivery` items, each holding the
innermost body with every envelope removed:

* an SQS batch (``Records[].eventSource == "aws:sqs"``): one item per message,
  named by its ``messageId`` so partial batch failures can be reported; a body
  that is itself an SNS notification (an SNS subscription without raw delivery)
  is unwrapped too;
* SNS (``Records[].EventSource == "aws:sns"``): one item per record, the ``Message``;
* S3 notification records delivered straight to the function (``aws:s3``, or
  ``lava:local`` from ``lava trigger watch``): one item per record;
* an EventBridge event (``detail-type`` + ``source`` + ``detail``): one item, the event;
* anything else: a direct invocation, one item holding the payload as it is.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import define

SQS, SNS, S3, LOCAL, EVENTBRIDGE, DIRECT = "sqs", "sns", "s3", "local", "eventbridge", "direct"
S3_SOURCES = ("aws:s3", "lava:local")


@define(frozen=True)
class Delivery:
    """One message of an event, its envelopes removed."""

    via: str  # how it arrived: sqs, sqs+sns, sns, s3, local (lava trigger watch), eventbridge, direct
    body: Any  # text as delivered, or the decoded JSON for s3/eventbridge/direct
    item_id: str | None = None  # SQS messageId (reported back on failure), SNS MessageId, EventBridge id
    receive_count: int = 1  # SQS ApproximateReceiveCount: above 1 for a redelivered message

    @property
    def label(self) -> str:
        return f"{self.via} message {self.item_id}" if self.item_id else f"{self.via} event"


def is_eventbridge(value: object) -> bool:
    return isinstance(value, dict) and "detail-type" in value and "source" in value and "detail" in value


def is_sqs_batch(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


def unwrap_sns(text: Any) -> tuple[Any, bool]:
    """The ``Message`` of an SNS notification envelope in ``text``; (text, False) when it is not one."""
    if not isinstance(text, str) or '"Notification"' not in text:
        return text, False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text, False
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        return data["Message"], True
    return text, False


def deliveries(event: Any) -> list[Delivery]:
    """Every message in ``event``, in order, with its envelopes removed."""
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
        return [_record(r) for r in records]
    if is_eventbridge(event):
        return [Delivery(EVENTBRIDGE, event, item_id=str(event.get("id") or "") or None)]
    return [Delivery(DIRECT, event)]


def _record(record: dict[str, Any]) -> Delivery:
    if record.get("eventSource") == "aws:sqs":
        body, wrapped = unwrap_sns(record.get("body"))
        try:
            count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            count = 1
        return Delivery("sqs+sns" if wrapped else SQS, body, item_id=record.get("messageId"), receive_count=count)
    if record.get("EventSource") == "aws:sns" and isinstance(record.get("Sns"), dict):
        return Delivery(SNS, record["Sns"].get("Message"), item_id=record["Sns"].get("MessageId"))
    if record.get("eventSource") in S3_SOURCES:
        return Delivery(LOCAL if record["eventSource"] == "lava:local" else S3, {"Records": [record]})
    return Delivery(DIRECT, record)


def decode(body: Any) -> Any:
    """A body that is JSON text, decoded; anything else (already decoded, or plain text) as it is."""
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            return body
    return body
