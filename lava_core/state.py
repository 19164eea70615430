"""The state manager: small named values that outlive runs (lava's state table).

Items have lava's layout (``state_id``, ``type``, ``value``, ``timestamp``,
``ttl``, ``publisher``) on both backends. Values of type ``json`` (the
default) are stored as JSON text; ``raw`` values are stored natively.

Unlike lava, an item past its ``ttl`` reads as missing: DynamoDB deletes
expired items up to days late, and a stale value is worse than none.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import TYPE_CHECKING, Any

from attrs import define

from lava_core.convert import Duration
from lava_core.errors import LavaError
from lava_core.records import iso, now_local

if TYPE_CHECKING:
    from lava_core.backend import Backend

DEFAULT_TTL = 7 * 86400.0  # STATE_TTL
MAX_TTL = 366 * 86400.0  # STATE_MAX_TTL
STATE_TYPES = ("json", "raw")


class StateError(LavaError):
    """A state item that cannot be written or read as asked (bad name, type, TTL or value)."""


@define(frozen=True, kw_only=True)
class StateItem:
    """One item of the state table, with its value decoded."""

    state_id: str
    value: Any
    type: str = "json"
    timestamp: str = ""
    ttl: int | None = None
    publisher: str = ""

    def expired(self, now: float | None = None) -> bool:
        return self.ttl is not None and self.ttl <= (time.time() if now is None else now)

    def to_item(self) -> dict[str, Any]:
        """The stored item: lava's layout, the value encoded by type."""
        value = json.dumps(self.value) if self.type == "json" else self.value
        item = {"state_id": self.state_id, "type": self.type, "value": value, "timestamp": self.timestamp,
                "publisher": self.publisher}
        if self.ttl is not None:
            item["ttl"] = self.ttl
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StateItem:
        kind = item.get("type") or "json"
        if kind == "secure":
            msg = f"state item {item.get('state_id')!r} is of type 'secure' (KMS-encrypted), which lava-core cannot read"
            raise StateError(msg)
        if kind not in STATE_TYPES:
            msg = f"state item {item.get('state_id')!r} has unknown type {kind!r}"
            raise StateError(msg)
        value = item.get("value")
        if kind == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                msg = f"state item {item.get('state_id')!r}: value is not JSON: {exc}"
                raise StateError(msg) from exc
        ttl = item.get("ttl")
        return cls(state_id=item["state_id"], value=value, type=kind, timestamp=str(item.get("timestamp") or ""),
                   ttl=int(ttl) if ttl is not None else None, publisher=str(item.get("publisher") or ""))


def check_state_id(state_id: str, *, reserved_ok: bool = False) -> None:
    if not isinstance(state_id, str) or not state_id.strip():
        msg = f"state_id must be a non-empty string, got {state_id!r}"
        raise StateError(msg)
    if not reserved_ok and state_id.lower().startswith("lava"):
        msg = f"state_id {state_id!r}: names starting with 'lava' are reserved for lava itself"
        raise StateError(msg)


def expiry(ttl: float | str | None, *, now: float | None = None, default: float = DEFAULT_TTL,
           maximum: float = MAX_TTL) -> int:
    """Epoch seconds at which an item written now with ``ttl`` expires (capped at ``maximum``)."""
    seconds = float(Duration(ttl)) if isinstance(ttl, str) else (default if ttl is None else float(ttl))
    if seconds <= 0:
        msg = f"state ttl must be positive, got {ttl!r}"
        raise StateError(msg)
    return int((time.time() if now is None else now) + min(seconds, maximum))


def make_item(state_id: str, value: Any, *, type: str = "json", ttl: float | str | None = None,  # noqa: A002
              publisher: str | None = None, reserved_ok: bool = False) -> StateItem:
    """A new item with lava's defaults: TTL 7d (capped at 366d), publisher from ``$LAVA_JOB_ID``."""
    check_state_id(state_id, reserved_ok=reserved_ok)
    if type not in STATE_TYPES:
        msg = f"state type must be one of {', '.join(STATE_TYPES)} ('secure' needs KMS and is not supported), got {type!r}"
        raise StateError(msg)
    if type == "json":
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            msg = f"state {state_id!r}: value is not JSON-serialisable: {exc}"
            raise StateError(msg) from exc
    return StateItem(state_id=state_id, value=value, type=type, timestamp=iso(now_local()), ttl=expiry(ttl),
                     publisher=publisher or os.environ.get("LAVA_JOB_ID") or "lava state CLI")


def put_state(backend: Backend, state_id: str, value: Any, **options: Any) -> StateItem:
    """Write (replace) a state item; see :func:`make_item` for the options."""
    item = make_item(state_id, value, **options)
    backend.put_state_item(item.to_item())
    return item


def get_state(backend: Backend, state_id: str) -> StateItem | None:
    """The current item, or None when it is missing or expired."""
    raw = backend.get_state_item(state_id)
    if raw is None:
        return None
    item = StateItem.from_item(raw)
    return None if item.expired() else item


def list_state(backend: Backend, prefix: str = "") -> list[StateItem]:
    """Every unexpired item whose id starts with ``prefix``, by id."""
    items = [StateItem.from_item(raw) for raw in backend.list_state_items(prefix)]
    return [i for i in sorted(items, key=lambda i: i.state_id) if not i.expired()]


def current_values(backend: Backend, defaults: dict[str, Any]) -> dict[str, Any]:
    """A job's ``state`` map at run start: each id's current value, else the spec's default."""
    values = {}
    for state_id, default in defaults.items():
        item = get_state(backend, state_id)
        values[state_id] = item.value if item is not None else default
    return values


def claim(backend: Backend, state_id: str, holder: str, ttl: float) -> bool:
    """Take or renew a lease: true when ``holder`` now holds ``state_id`` for ``ttl`` seconds.

    The write succeeds only if the item is missing, expired or already the
    holder's, so two processes never both hold it (and a duplicate key within its
    TTL is refused: the same call makes an idempotency check).
    """
    item = StateItem(state_id=state_id, value=holder, timestamp=iso(now_local()), ttl=math.ceil(time.time() + ttl),
                     publisher=holder)
    return backend.claim_state_item(item.to_item(), now=time.time())


__all__ = ["StateError", "StateItem", "claim", "current_values", "get_state", "list_state", "make_item", "put_state"]
