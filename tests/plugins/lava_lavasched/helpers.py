"""Helpers shared by the lavasched tests: run the job through a real worker, read its outcome."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs

BIN = Path(sys.executable).absolute().parent
LAVA = str(BIN / "lava")
DEFAULT_PATH = f"{BIN}:/usr/local/bin:/usr/bin:/bin"
DEFAULT_LOG = str(Path(tempfile.gettempdir()) / "lava-dispatch.log")
COMMENT = "# Written by lava lavasched job sched for dispatcher(s) {}; lines up to the end marker are replaced on every run."


def run_sched(realm, parameters, *, job_id="sched", dispatcher="Sched"):
    """Store the lavasched job, dispatch it, let a worker run it; returns (event, run_id)."""
    put_jobs(realm, {"job_id": job_id, "type": "lavasched", "payload": None, "dispatcher": dispatcher,
                     "schedule": "*/15 * * * *", "parameters": parameters})
    run_id = send(realm, DispatchRequest(job_id=job_id)).run_id
    drain(realm)
    return realm.get_event(job_id, run_id), run_id


def result_of(event):
    assert event.status == "complete", event.log[-1].info
    return event.log[-1].info


def error_of(event):
    assert event.status == "failed", event.log[-1].info
    return event.log[-1].info["error"]


def realm_spec(realm):
    spec = realm.describe()
    return spec if spec.startswith("aws://") else str(Path(spec).absolute())


def entry(timing, worker, job_id, log, args=""):
    return f"{timing} {LAVA} dispatch --worker {worker} {args}{job_id} >> {log} 2>&1"


