"""Helpers for lava-dag's tests.

Children are cmd jobs (lava-cmd). Tests that need to know *when* children ran
have them append timestamped lines to a marker file (:func:`timed`) and read
the intervals back (:func:`intervals`): parallelism is proven by overlapping
intervals, never by total sleep times.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lava_core.backend import Backend
from lava_core.dispatch import DispatchRequest, send
from lava_core.records import Event
from lava_core.testing import drain


def run_job(backend: Backend, job_id: str, **request: object) -> tuple[Event, str]:
    """Dispatch ``job_id`` and run a worker until its queue is empty; the parent's event item and run id."""
    run_id = send(backend, DispatchRequest(job_id=job_id, **request)).run_id
    drain(backend)
    event = backend.get_event(job_id, run_id)
    assert event is not None, f"no event item for {job_id}/{run_id}"
    return event, run_id


def cmd(job_id: str, payload: str, **spec: object) -> dict[str, object]:
    return {"job_id": job_id, "type": "cmd", "payload": payload, **spec}


def timed(job_id: str, seconds: float, *, exit_status: int = 0, **spec: object) -> dict[str, object]:
    """A cmd child that writes ``<label> start <t>``, sleeps, writes ``<label> end <t>`` and exits.

    The label is the job id, plus ``#<foreach_index>`` when the child runs in a foreach.
    """
    label = "{{ job.job_id }}{% if globals.lava.foreach_index is defined %}#{{ globals.lava.foreach_index }}{% endif %}"
    payload = (f'echo "{label} start $(date +%s.%N)" >> {{{{ globals.marks }}}}; sleep {seconds}; '
               f'echo "{label} end $(date +%s.%N)" >> {{{{ globals.marks }}}}; exit {exit_status}')
    return cmd(job_id, payload, **spec)


def intervals(path: Path) -> dict[str, tuple[float, float]]:
    """label -> (start, end) from the marker file; a label seen twice is a test failure."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for line in path.read_text().splitlines():
        label, what, ts = line.split()
        if what == "start":
            assert label not in starts, f"{label} started twice"
            starts[label] = float(ts)
        else:
            spans[label] = (starts[label], float(ts))
    assert set(spans) == set(starts), f"started but never ended: {set(starts) - set(spans)}"
    return spans


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def result(event: Event) -> Any:
    """The parent's last log entry's info: the result (complete) or the failure record (failed)."""
    return event.log[-1].info
