"""What a trigger source made of an event, and sending it.

A :class:`TriggerReport` has one :class:`ItemReport` per delivered message: the
dispatches planned for it, the errors that stopped parts of it, notes (what was
skipped and why) and the explanation lines ``lava trigger replay`` prints. The
same report drives the Lambda handlers, the replay command and the local watch,
so all three behave alike.

Retried SQS messages: when a message of a batch fails, the fingerprints of the
requests already sent for it are kept in the state table
(``lava/dedup/sent/<source>/<messageId>``), and a redelivery skips them, so
reporting a partial failure never dispatches the good requests twice. Duplicate
suppression claims taken for a failed message are released so its retry is
not mistaken for a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from attrs import define, field

from lava_core.dispatch import DispatchRequest, send
from lava_core.errors import LavaError
from lava_core.state import get_state, put_state

if TYPE_CHECKING:
    from lava_core.backend import Backend

    from lava_triggers.envelope import Delivery

log = logging.getLogger("lava.triggers")

SENT_MEMO_PREFIX = "lava/dedup/sent/"
SENT_MEMO_TTL = 4 * 86400  # SQS's default message retention


@define(frozen=True)
class Planned:
    """A dispatch a source decided on: the request, the fleet when already known, and why."""

    request: DispatchRequest
    worker: str | None = None
    origin: str = ""

    def fingerprint(self) -> str:
        """The same request (job, parameters, globals, delay) always has the same fingerprint."""
        r = self.request
        text = json.dumps([r.job_id, r.parameters, r.globals, float(r.delay)], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def to_json(self) -> dict[str, Any]:
        r = self.request
        return {"job_id": r.job_id, "parameters": r.parameters, "globals": r.globals, "delay": r.delay.text,
                "worker": self.worker, "origin": self.origin}

    def describe(self) -> str:
        r = self.request
        parts = [r.job_id, f"(fleet {self.worker})" if self.worker else ""]
        if float(r.delay):
            parts.append(f"delay {r.delay.text}")
        for name, value in (("parameters", r.parameters), ("globals", r.globals)):
            if value:
                parts.append(f"{name} {json.dumps(value, sort_keys=True, default=str)}")
        return " ".join(p for p in parts if p)


@define
class ItemReport:
    """One delivered message and everything that came of it."""

    delivery: Delivery
    planned: list[Planned] = field(factory=list)
    errors: list[str] = field(factory=list)
    notes: list[str] = field(factory=list)
    lines: list[str] = field(factory=list)
    detail: list[dict[str, Any]] = field(factory=list)
    claims: list[str] = field(factory=list)
    sent: list[dict[str, Any]] = field(factory=list)
    send_errors: list[str] = field(factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.send_errors)

    def to_json(self) -> dict[str, Any]:
        d = self.delivery
        return {"via": d.via, "item_id": d.item_id, "receive_count": d.receive_count, "detail": self.detail,
                "dispatches": [p.to_json() for p in self.planned], "errors": self.errors, "notes": self.notes,
                "sent": self.sent, "send_errors": self.send_errors, "failed": self.failed}


@define
class TriggerReport:
    """Everything one event produced, item by item."""

    source: str
    batch: bool
    dry_run: bool
    items: list[ItemReport] = field(factory=list)

    def requests(self) -> list[DispatchRequest]:
        return [p.request for item in self.items for p in item.planned]

    @property
    def errors(self) -> list[str]:
        return [f"{i.delivery.label}: {e}" for i in self.items for e in (*i.errors, *i.send_errors)]

    def send(self, backend: Backend) -> None:
        """Send every planned dispatch; record run ids, failures, and the retry memo of failed SQS messages."""
        for item in self.items:
            memo_id = (f"{SENT_MEMO_PREFIX}{self.source}/{item.delivery.item_id}"
                       if self.batch and item.delivery.item_id else None)
            done = self._memo(backend, memo_id) if memo_id and item.delivery.receive_count > 1 else set()
            fresh = []
            for planned in item.planned:
                mark = planned.fingerprint()
                if mark in done:
                    item.notes.append(f"{planned.request.job_id}: already dispatched by an earlier delivery "
                                      "of this message, not sent again")
                    continue
                try:
                    message = send(backend, planned.request, worker=planned.worker)
                except LavaError as exc:
                    item.send_errors.append(f"{planned.origin}: {exc}" if planned.origin else str(exc))
                    continue
                except Exception as exc:  # noqa: BLE001 - an AWS error for one request must not stop the others
                    item.send_errors.append(f"{planned.origin}: cannot dispatch {planned.request.job_id!r}: "
                                            f"{type(exc).__name__}: {exc}")
                    continue
                item.sent.append({"job_id": message.job_id, "run_id": message.run_id, "worker": message.worker,
                                  "origin": planned.origin})
                fresh.append(mark)
            if item.failed:
                if memo_id and (done or fresh):
                    put_state(backend, memo_id, sorted(done | set(fresh)), ttl=SENT_MEMO_TTL, reserved_ok=True,
                              publisher=f"lava-triggers {self.source}")
                for claim_id in item.claims:
                    backend.delete_state_item(claim_id)

    @staticmethod
    def _memo(backend: Backend, memo_id: str) -> set[str]:
        try:
            item = get_state(backend, memo_id)
        except LavaError:
            return set()
        return set(item.value) if item is not None and isinstance(item.value, list) else set()

    def log(self) -> None:
        """Log what happened, at a level matching each line (for Lambda's CloudWatch log)."""
        for item in self.items:
            for note in item.notes:
                log.info("%s: %s", item.delivery.label, note)
            for sent in item.sent:
                log.info("%s: dispatched %s (run %s) to fleet %s", item.delivery.label, sent["job_id"],
                         sent["run_id"], sent["worker"])
            for problem in (*item.errors, *item.send_errors):
                log.error("%s: %s", item.delivery.label, problem)

    def lambda_response(self) -> dict[str, Any]:
        """SQS batches: ``batchItemFailures`` naming only the failed messages; otherwise a summary."""
        if self.batch:
            return {"batchItemFailures": [{"itemIdentifier": i.delivery.item_id} for i in self.items
                                          if i.failed and i.delivery.item_id]}
        return {"dispatched": [s for i in self.items for s in i.sent], "errors": self.errors,
                "notes": [n for i in self.items for n in i.notes]}

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "dry_run": self.dry_run, "batch": self.batch,
                "items": [i.to_json() for i in self.items], "ok": not self.errors}

    def text(self) -> list[str]:
        """The human explanation ``lava trigger replay`` prints."""
        out = []
        for item in self.items:
            d = item.delivery
            retry = f", delivery {d.receive_count}" if d.receive_count > 1 else ""
            out.append(f"{d.label}{retry}")
            out += [f"  {line}" for line in item.lines]
            out += [f"  note: {n}" for n in item.notes]
            out += [f"  error: {e}" for e in item.errors]
            verb = "would dispatch" if self.dry_run else "dispatch"
            out += [f"  {verb}: {p.describe()}" for p in item.planned]
            out += [f"  sent: {s['job_id']} run {s['run_id']} to fleet {s['worker']}" for s in item.sent]
            out += [f"  send failed: {e}" for e in item.send_errors]
        return out
