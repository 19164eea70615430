"""``lava worker run --jump-start``: a fresh dispatcher host builds its first crontab by itself."""

from __future__ import annotations

import time

import pytest

from lava_core.testing import put_jobs

from tests.plugins.lava_lavasched.helpers import entry


@pytest.mark.slow
def test_jump_start_runs_the_lavasched_job_of_its_fleet_and_installs_the_crontab(lava_realm, crontab, lava_worker,
                                                                                tmp_path):
    log = tmp_path / "dispatch.log"
    sched = {"type": "lavasched", "payload": None, "dispatcher": "Sched", "schedule": "*/15 * * * *",
             "parameters": {"dispatcher": "D", "log": str(log)}}
    put_jobs(lava_realm,
             {"job_id": "sched", **sched},
             {"job_id": "sched-other-fleet", **sched, "worker": "other"},
             {"job_id": "sched-off", **sched, "enabled": False},
             {"job_id": "a", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "0 12 * * *"})
    started = time.monotonic()
    worker = lava_worker(lava_realm, "core", "--jump-start", "--drain", LAVA_JUMPSTART_DELAY="2s")
    assert worker.wait(90) == 0, worker.log()
    assert time.monotonic() - started >= 2  # the jump-start dispatch was delayed (JUMPSTART_DELAY, default 15s)
    assert "jump-start: dispatched sched " in worker.log()
    (event,) = lava_realm.query_events(job_id="sched")
    assert [e.status for e in event.log] == ["starting", "running", "complete"], event.log[-1].info["error"]
    assert lava_realm.query_events(job_id="sched-other-fleet") == []
    assert lava_realm.query_events(job_id="sched-off") == []
    assert entry("0 12 * * *", "core", "a", log) in crontab.text().splitlines()
