"""The one interface every realm backend implements.

The local folder realm and AWS implement exactly this; the backend contract
tests run the same behaviour against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from attrs import define

from lava_core.records import Event, EventEntry, Job, Realm, load_job


# Longest delivery delay of a dispatch message (SQS's limit; the local realm keeps the same).
MAX_DELAY = 900


@define(frozen=True)
class ReceivedMessage:
    """A message taken from a fleet queue; hidden from others until its visibility runs out."""

    message_id: str
    body: str
    receipt: str
    receive_count: int
    sent_at: float


@define(frozen=True)
class DeadLetter:
    """A message set aside because it could not be run, with the reason why."""

    message_id: str
    queue: str
    body: str
    reason: str
    receive_count: int
    ts: str


class Backend(ABC):
    """Tables, fleet queues and the payload/output store of one realm."""

    realm_name: str
    # How long a draining worker's empty polls wait: short where a poll is a cheap
    # local read, longer where each poll is a billed request.
    drain_poll_wait: float = 0.02

    # ------------------------------------------------------------------ realm record
    @abstractmethod
    def get_realm(self) -> Realm:
        """The realm record (read once per worker start)."""

    @abstractmethod
    def put_realm(self, realm: Realm) -> None:
        """Replace the realm record (workers read it at start)."""

    @abstractmethod
    def describe(self) -> str:
        """Where this realm lives, as ``--realm`` takes it (a folder path or ``aws://NAME``)."""

    # ------------------------------------------------------------------ jobs table
    @abstractmethod
    def put_jobs(self, specs: list[dict[str, Any]]) -> None:
        """Write job specs (already validated), replacing any with the same ``job_id``."""

    @abstractmethod
    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The stored spec of ``job_id`` as plain data, or None."""

    def load_job(self, job_id: str) -> Job | None:
        """The stored spec of ``job_id`` as a validated record, or None; SpecError if it is invalid.

        Backends may cache the record while the stored spec is unchanged.
        """
        spec = self.get_job(job_id)
        return None if spec is None else load_job(spec, source=f"job {job_id}")

    @abstractmethod
    def list_jobs(self) -> list[dict[str, Any]]:
        """Every stored job spec, ordered by ``job_id``."""

    def jobs_of_dispatcher(self, dispatcher: str) -> list[dict[str, Any]]:
        """The stored specs whose ``dispatcher`` field is ``dispatcher``, by ``job_id``.

        Backends answer from an index (lava's ``dispatcher-index``); this fallback scans.
        """
        return [s for s in self.list_jobs() if s.get("dispatcher") == dispatcher]

    @abstractmethod
    def delete_job(self, job_id: str) -> bool:
        """Remove a job; False when there was none."""

    # ------------------------------------------------------------------ events table
    @abstractmethod
    def record_event(self, job_id: str, run_id: str, entries: list[EventEntry], fields: dict[str, Any]) -> None:
        """Set ``fields`` (status, ts_event, …) on the run's item and append ``entries`` to its log, atomically."""

    @abstractmethod
    def get_event(self, job_id: str, run_id: str) -> Event | None:
        """One run's event item."""

    @abstractmethod
    def query_events(self, *, job_id: str | None = None, run_id: str | None = None,
                     status: str | None = None, limit: int = 100) -> list[Event]:
        """Most recent first (by ``tu_event``), filtered by whichever arguments are given."""

    # ------------------------------------------------------------------ state table
    @abstractmethod
    def put_state_item(self, item: dict[str, Any]) -> None:
        """Write (replace) a state item in lava's layout (see :mod:`lava_core.state`)."""

    @abstractmethod
    def get_state_item(self, state_id: str) -> dict[str, Any] | None:
        """The stored state item, expired or not, or None."""

    @abstractmethod
    def list_state_items(self, prefix: str = "") -> list[dict[str, Any]]:
        """Every stored state item whose id starts with ``prefix``."""

    @abstractmethod
    def delete_state_item(self, state_id: str) -> bool:
        """Remove a state item; False when there was none."""

    @abstractmethod
    def claim_state_item(self, item: dict[str, Any], *, now: float) -> bool:
        """Write ``item`` only if no item with its id exists, or it expired (``ttl`` <= ``now``), or it has
        the same ``publisher``; True when written. Atomic: of two racing claims, at most one succeeds."""

    # ------------------------------------------------------------------ s3triggers table
    @abstractmethod
    def put_triggers(self, items: list[dict[str, Any]]) -> None:
        """Write s3trigger entries (lava's layout: ``trigger_id``, ``bucket``, ``prefix``…), replacing same ids."""

    @abstractmethod
    def get_trigger(self, trigger_id: str) -> dict[str, Any] | None:
        """One stored s3trigger entry, or None."""

    @abstractmethod
    def list_triggers(self) -> list[dict[str, Any]]:
        """Every stored s3trigger entry, by ``trigger_id``."""

    @abstractmethod
    def query_triggers(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        """The entries whose ``bucket`` and ``prefix`` are exactly these (lava's ``s3trigger-index``), by id."""

    @abstractmethod
    def delete_trigger(self, trigger_id: str) -> bool:
        """Remove an s3trigger entry; False when there was none."""

    # ------------------------------------------------------------------ connections table
    @abstractmethod
    def put_connections(self, items: list[dict[str, Any]]) -> None:
        """Write connection entries (lava's layout: ``conn_id``, ``type``, ``enabled``…), replacing same ids.

        Callers validate first (:func:`lava_core.connections.check_connection`); the backend stores as given.
        """

    @abstractmethod
    def get_connection(self, conn_id: str) -> dict[str, Any] | None:
        """One stored connection entry, or None."""

    @abstractmethod
    def list_connections(self) -> list[dict[str, Any]]:
        """Every stored connection entry, by ``conn_id``."""

    @abstractmethod
    def delete_connection(self, conn_id: str) -> bool:
        """Remove a connection entry; False when there was none."""

    # ------------------------------------------------------------------ fleet queues
    def queue_name(self, fleet: str) -> str:
        """lava's queue name for a worker fleet: ``lava-<realm>-<fleet>``."""
        return f"lava-{self.realm_name}-{fleet}"

    @abstractmethod
    def send_message(self, fleet: str, body: dict[str, Any], delay: float = 0) -> str:
        """Put a dispatch message on the fleet's queue; returns the message id."""

    @abstractmethod
    def receive_messages(self, fleet: str, *, max_messages: int = 1, wait: float = 0,
                         visibility: float = 60, delete_first: str | None = None) -> list[ReceivedMessage]:
        """Take up to ``max_messages`` visible messages, waiting up to ``wait`` seconds for one.

        Each is hidden for ``visibility`` seconds and its receive count goes up by one.
        ``delete_first`` is the receipt of a finished message to delete before
        taking (a worker thread settles its last run and takes the next in one call).
        """

    @abstractmethod
    def delete_message(self, fleet: str, receipt: str) -> None:
        """Remove a message for good (the run reached a final status)."""

    @abstractmethod
    def extend_visibility(self, fleet: str, receipt: str, seconds: float) -> bool:
        """Keep a message hidden for ``seconds`` more from now; False if the receipt is stale."""

    @abstractmethod
    def dead_letter(self, fleet: str, message: ReceivedMessage, reason: str) -> None:
        """Move a received message to the fleet's dead-letter place, with the reason."""

    @abstractmethod
    def list_dead_letters(self, fleet: str | None = None) -> list[DeadLetter]:
        """Messages set aside, oldest first."""

    @abstractmethod
    def queue_depth(self, fleet: str) -> tuple[int, int]:
        """(visible, in flight) message counts of a fleet queue."""

    # ------------------------------------------------------------------ output store
    @abstractmethod
    def put_output(self, job_id: str, run_id: str, name: str, data: bytes) -> str:
        """Store a run's output object; returns its URI."""

    @abstractmethod
    def get_output(self, job_id: str, run_id: str, name: str) -> bytes | None:
        """A stored output object, or None."""

    @abstractmethod
    def list_outputs(self, job_id: str, run_id: str) -> list[str]:
        """Names of a run's stored output objects."""

    # ------------------------------------------------------------------ payload store
    @abstractmethod
    def put_payload(self, name: str, data: bytes) -> str:
        """Store an object in the realm's payload area (replacing any); returns its URI."""

    @abstractmethod
    def get_payload(self, name: str) -> bytes | None:
        """An object of the payload area, or None."""

    @abstractmethod
    def list_payloads(self, prefix: str = "") -> list[tuple[str, int]]:
        """(name, size) of every payload object whose name starts with ``prefix``, sorted by name."""

    # ------------------------------------------------------------------ event bus
    @abstractmethod
    def put_bus_event(self, *, source: str, detail_type: str, detail: dict[str, Any],
                      resources: list[str], event_bus: str | None = None) -> str:
        """Publish an event on the realm's event bus (EventBridge on AWS); returns its id."""

    def flush(self) -> None:  # noqa: B027 - optional for backends that write synchronously
        """Wait until every write made so far (event writes may be asynchronous) is durable."""

    def close(self) -> None:  # noqa: B027 - optional for backends holding no resources
        """Release connections."""
