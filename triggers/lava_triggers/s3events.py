"""S3 object events into lava's canonical ``info`` record.

S3 bucket notifications and EventBridge "Object …" events describe the same
thing in different shapes; :class:`S3Info` is the one shape templates and
conditions see, whichever way the event arrived.

Event types are canonicalised as lava does: a bucket notification's
``eventName`` is used as it is (``ObjectCreated:Put``); an EventBridge event's
``detail-type`` and ``detail.reason`` are joined with a colon and all whitespace
removed (``Object Created`` + ``PutObject`` -> ``ObjectCreated:PutObject``).
Notification keys arrive URL-encoded and are decoded with ``unquote_plus``;
EventBridge keys arrive as they are.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from attrs import define

from lava_triggers.envelope import S3_SOURCES, decode, is_eventbridge

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
TEST_EVENT = "s3:TestEvent"


class S3EventError(ValueError):
    """A body that is not an S3 event lava understands; the message says what was found."""


@define(frozen=True, kw_only=True)
class S3Info:
    """The canonical extract of one S3 event (lava's ``info``)."""

    bucket: str
    key: str
    size: int | None
    event_time: datetime
    event_type: str
    source_ip: IPAddress | None
    aws_region: str

    def as_dict(self) -> dict[str, Any]:
        """What templates get as ``info``: a map, as in lava."""
        return {"bucket": self.bucket, "key": self.key, "size": self.size, "event_time": self.event_time,
                "event_type": self.event_type, "source_ip": self.source_ip, "aws_region": self.aws_region}

    def to_json(self) -> dict[str, Any]:
        data = self.as_dict()
        data["event_time"] = self.event_time.isoformat()
        data["source_ip"] = None if self.source_ip is None else str(self.source_ip)
        return data

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def canonical_event_type(detail_type: str, reason: str) -> str:
    """EventBridge's ``detail-type`` and ``reason`` as one lava event type, whitespace removed."""
    return re.sub(r"\s+", "", f"{detail_type}:{reason}")


def s3_events(body: Any) -> tuple[list[tuple[dict[str, Any], S3Info]], list[str]]:
    """(raw record, info) for each S3 event in a delivery body, and notes on what was skipped.

    Raises :class:`S3EventError` for a body that is not an S3 event at all.
    """
    data = decode(body)
    if isinstance(data, dict) and data.get("Event") == TEST_EVENT:
        return [], [f"{TEST_EVENT} for bucket {data.get('Bucket')!r} ignored"]
    if is_eventbridge(data):
        return [(data, from_eventbridge(data))], []
    records = data.get("Records") if isinstance(data, dict) else None
    if isinstance(records, list):
        found, notes = [], []
        for index, record in enumerate(records):
            if not isinstance(record, dict) or record.get("eventSource") not in S3_SOURCES:
                source = record.get("eventSource") if isinstance(record, dict) else type(record).__name__
                notes.append(f"Records[{index}]: not an S3 record (eventSource {source!r}) ignored")
                continue
            found.append((record, from_notification(record, where=f"Records[{index}]")))
        return found, notes
    shown = body if isinstance(body, str) else repr(data)
    msg = f"not an S3 event (expected S3 notification Records or an EventBridge event): {shown[:120]!r}"
    raise S3EventError(msg)


def from_notification(record: dict[str, Any], *, where: str = "record") -> S3Info:
    """An S3 bucket notification record (``Records[]`` item)."""
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return S3Info(
            bucket=str(s3["bucket"]["name"]), key=unquote_plus(str(obj["key"])), size=_size(obj.get("size")),
            event_time=_time(record.get("eventTime")), event_type=str(record.get("eventName") or ""),
            source_ip=_ip((record.get("requestParameters") or {}).get("sourceIPAddress")),
            aws_region=str(record.get("awsRegion") or ""))
    except (KeyError, TypeError) as exc:
        msg = f"{where}: S3 notification record without {exc}"
        raise S3EventError(msg) from None


def from_eventbridge(event: dict[str, Any]) -> S3Info:
    """An EventBridge S3 event (``source`` ``aws.s3``, ``detail-type`` ``Object Created`` …)."""
    if event.get("source") != "aws.s3":
        msg = f"EventBridge event from {event.get('source')!r}, not aws.s3"
        raise S3EventError(msg)
    try:
        detail = event["detail"]
        obj = detail["object"]
        return S3Info(
            bucket=str(detail["bucket"]["name"]), key=str(obj["key"]), size=_size(obj.get("size")),
            event_time=_time(event.get("time")),
            event_type=canonical_event_type(str(event.get("detail-type") or ""), str(detail.get("reason") or "")),
            source_ip=_ip(detail.get("source-ip-address")), aws_region=str(event.get("region") or ""))
    except (KeyError, TypeError) as exc:
        msg = f"EventBridge S3 event without {exc}"
        raise S3EventError(msg) from None


def _size(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime:
    """An aware instant: ISO-8601 text (``Z`` or an offset) or epoch seconds; naive text is taken as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            msg = f"event time {value!r} is not ISO-8601"
            raise S3EventError(msg) from None
        return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    msg = f"event without an event time (got {value!r})"
    raise S3EventError(msg)


def _ip(value: Any) -> IPAddress | None:
    """The source address, or None when absent or not an address (AWS sends principals for some events)."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
