"""Plain Python data to DynamoDB attribute values and back, as lava stores its items.

Job specs, realm records and events are stored as native DynamoDB maps (not JSON
strings), like lava's, so each side can read the other's items. DynamoDB has no
float type: floats go in as exact decimals and numbers come back as int when
integral, float otherwise.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import attrs
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from lava_core.convert import structure
from lava_core.errors import BackendError
from lava_core.records import Event, EventEntry

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_EVENT_FIELDS = frozenset(a.name for a in attrs.fields(Event))


def to_attribute(value: Any, *, where: str = "$") -> dict[str, Any]:
    """One DynamoDB attribute value (``{"S": ...}``, ``{"M": ...}``…) for plain data."""
    return _serializer.serialize(_to_dynamo(value, where))


def to_item(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A whole item: every top-level key becomes an attribute."""
    return {key: to_attribute(value, where=f"$.{key}") for key, value in data.items()}


def from_item(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Plain data for a DynamoDB item (Decimals become int/float, sets become sorted lists)."""
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in item.items()}


def event_from_item(item: dict[str, dict[str, Any]]) -> Event:
    """An events-table item as an :class:`Event`, tolerating lava's extra attributes (``instance_id``…)."""
    data = from_item(item)
    known = {k: v for k, v in data.items() if k in _EVENT_FIELDS}
    known.setdefault("status", "")
    known.setdefault("ts_dispatch", None)
    known.setdefault("ts_event", "")
    known.setdefault("tu_event", "")
    known["log"] = [_entry(e) for e in data.get("log") or [] if isinstance(e, dict)]
    return structure(known, Event, source=f"event {data.get('job_id')}/{data.get('run_id')}")


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    # lava's documentation omits tu_event from log entries; older items may lack it.
    return {"status": entry.get("status", ""), "info": entry.get("info"),
            "ts_event": entry.get("ts_event", ""), "tu_event": entry.get("tu_event", "")}


def entry_to_dict(entry: EventEntry) -> dict[str, Any]:
    return {"status": entry.status, "info": entry.info, "ts_event": entry.ts_event, "tu_event": entry.tu_event}


def _to_dynamo(value: Any, where: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes | Decimal | Binary):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{where}: DynamoDB cannot store {value!r}"
            raise BackendError(msg)
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): _to_dynamo(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v, f"{where}[{i}]") for i, v in enumerate(value)]
    # Anything else (datetimes, UUIDs…) is stored as its text, as lava's JSON default does.
    return str(value)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_from_dynamo(v) for v in value)
    if isinstance(value, Binary):
        return bytes(value)
    return value
