"""Fleet queues on SQS: one standard queue per fleet, each with a dead-letter queue.

Differences from the local realm, by the nature of SQS:

* Long polls and visibility timeouts are whole seconds (rounded up; a poll of
  up to 20 s).
* Queue depths are SQS's approximate counts.
* Listing dead letters peeks at the dead-letter queue: each message is
  received, then made visible again at once.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lava_core.backend.aws_schema import SQS_MAX_WAIT, dead_letter_queue_name, queue_name
from lava_core.backend.base import MAX_DELAY, DeadLetter, ReceivedMessage
from lava_core.errors import BackendError
from lava_core.records import iso, now_local

_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp"]
_STALE_RECEIPT = {"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight",
                  "AWS.SimpleQueueService.MessageNotInflight"}
_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
# SQS message attribute values are limited; a reason is a sentence, but keep it bounded.
_MAX_REASON = 4000


class SqsQueues:
    """The fleet queues of one realm; queue URLs are looked up once per process."""

    def __init__(self, client: Any, realm: str) -> None:
        self._sqs = client
        self.realm = realm
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def url(self, name: str) -> str:
        with self._lock:
            cached = self._urls.get(name)
        if cached is not None:
            return cached
        try:
            url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if error_code(exc) in _NO_QUEUE:
                fleet = name.removeprefix(f"lava-{self.realm}-").removesuffix("-dlq")
                msg = (f"no SQS queue {name}: create the fleet's queues with "
                       f"`lava realm init --aws {self.realm} --bucket BUCKET --fleet {fleet}`")
                raise BackendError(msg) from exc
            raise
        with self._lock:
            self._urls[name] = url
        return url

    def fleet_url(self, fleet: str) -> str:
        return self.url(queue_name(self.realm, fleet))

    # ------------------------------------------------------------------ sending
    def send(self, fleet: str, body: str, delay: float = 0) -> str:
        seconds = math.ceil(delay) if delay > 0 else 0
        if seconds > MAX_DELAY:
            msg = f"delay of {delay:g}s is longer than SQS allows ({MAX_DELAY}s = 15m)"
            raise BackendError(msg)
        response = self._sqs.send_message(QueueUrl=self.fleet_url(fleet), MessageBody=body, DelaySeconds=seconds)
        return response["MessageId"]

    # ------------------------------------------------------------------ receiving
    def receive(self, fleet: str, *, max_messages: int, wait: float, visibility: float,
                delete_first: str | None) -> list[ReceivedMessage]:
        url = self.fleet_url(fleet)
        if delete_first is not None:
            self.delete(fleet, delete_first)
        # SQS long polls last whole seconds; a fraction of a second is waited here
        # after an empty poll, so short waits do not turn into busy loops.
        whole = min(SQS_MAX_WAIT, int(max(0.0, wait)))
        response = self._sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max(1, min(10, max_messages)), WaitTimeSeconds=whole,
            VisibilityTimeout=math.ceil(visibility), MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES)
        messages = [_received(m) for m in response.get("Messages", [])]
        if not messages and wait > whole:
            time.sleep(min(wait - whole, 1.0))
        return messages

    def delete(self, fleet: str, receipt: str) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self.fleet_url(fleet), ReceiptHandle=receipt)
        except ClientError as exc:
            if error_code(exc) not in _STALE_RECEIPT:
                raise

    def extend(self, fleet: str, receipt: str, seconds: float) -> bool:
        try:
            self._sqs.change_message_visibility(QueueUrl=self.fleet_url(fleet), ReceiptHandle=receipt,
                                                VisibilityTimeout=max(0, math.ceil(seconds)))
        except ClientError as exc:
            if error_code(exc) in _STALE_RECEIPT:
                return False
            raise
        return True

    def depth(self, fleet: str) -> tuple[int, int]:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.fleet_url(fleet),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"]).get("Attributes", {})
        visible = int(attributes.get("ApproximateNumberOfMessages", 0))
        hidden = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
        return visible, hidden + delayed

    # ------------------------------------------------------------------ dead letters
    def dead_letter(self, fleet: str, message: ReceivedMessage, reason: str) -> None:
        """Copy the message to the fleet's dead-letter queue with the reason, then delete it.

        In that order: a failure between the two leaves a duplicate, never a loss.
        """
        attributes = {
            "lava-reason": {"DataType": "String", "StringValue": reason[:_MAX_REASON] or "-"},
            "lava-message-id": {"DataType": "String", "StringValue": message.message_id},
            "lava-receive-count": {"DataType": "Number", "StringValue": str(message.receive_count)},
            "lava-ts": {"DataType": "String", "StringValue": iso(now_local())},
        }
        self._sqs.send_message(QueueUrl=self.url(dead_letter_queue_name(self.realm, fleet)),
                               MessageBody=message.body or " ", MessageAttributes=attributes)
        self.delete(fleet, message.receipt)

    def list_dead_letters(self, fleet: str | None, *, exclude_prefixes: list[str] | tuple[str, ...] = ()) -> list[DeadLetter]:
        if fleet is not None:
            names = [dead_letter_queue_name(self.realm, fleet)]
        else:
            prefix = f"lava-{self.realm}-"
            pages = self._sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix)
            urls = [u for page in pages for u in page.get("QueueUrls", [])]
            names = sorted(n for n in (u.rsplit("/", 1)[-1] for u in urls)
                           if n.endswith("-dlq") and not n.startswith(tuple(exclude_prefixes)))
        letters: list[DeadLetter] = []
        for name in names:
            letters += self._peek(name)
        return sorted(letters, key=lambda d: d.ts)

    def _peek(self, dlq_name: str) -> list[DeadLetter]:
        url = self.url(dlq_name)
        source = dlq_name.removesuffix("-dlq")
        seen: dict[str, DeadLetter] = {}
        receipts: list[str] = []
        while True:
            response = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30,
                MessageAttributeNames=["All"], MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES)
            batch = response.get("Messages", [])
            if not batch:
                break
            for m in batch:
                receipts.append(m["ReceiptHandle"])
                seen.setdefault(m["MessageId"], _dead_letter(m, source))
        for start in range(0, len(receipts), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                       for i, r in enumerate(receipts[start:start + 10])]
            self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        return list(seen.values())


def _received(message: dict[str, Any]) -> ReceivedMessage:
    attributes = message.get("Attributes", {})
    return ReceivedMessage(message_id=message["MessageId"], body=message.get("Body", ""),
                           receipt=message["ReceiptHandle"],
                           receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
                           sent_at=int(attributes.get("SentTimestamp", time.time() * 1000)) / 1000)


def _dead_letter(message: dict[str, Any], source: str) -> DeadLetter:
    attrs = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    system = message.get("Attributes", {})
    sent = int(system.get("SentTimestamp", time.time() * 1000)) / 1000
    if "lava-reason" in attrs:
        reason = attrs["lava-reason"]
        count = int(attrs.get("lava-receive-count", 0))
    else:
        # Moved by the queue's redrive policy: no worker could record why (it died each time).
        reason = "moved by SQS after too many receives (redrive policy): the run never finished"
        count = max(0, int(system.get("ApproximateReceiveCount", 1)) - 1)
    ts = attrs.get("lava-ts") or iso(datetime.fromtimestamp(sent, UTC).astimezone())
    return DeadLetter(message_id=attrs.get("lava-message-id", message["MessageId"]), queue=source,
                      body=message.get("Body", ""), reason=reason, receive_count=count, ts=ts)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def encode_body(body: dict[str, Any]) -> str:
    return json.dumps(body, default=str)
