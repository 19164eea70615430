"""The embedded dispatcher on both backends: exact fires, windows, restarts, catch-up, one holder per name."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lava_core.dispatcher import Dispatcher, DispatcherOptions
from lava_core.testing import drain, put_jobs, run_cli

UTC_ZONE = ZoneInfo("UTC")


def scheduled(job_id, schedule, **extra):
    return {"job_id": job_id, "type": "cmd", "payload": "true", "dispatcher": "d1", "schedule": schedule, **extra}


def run_dispatcher(realm, seconds, *, holder=None):
    options = DispatcherOptions(name="d1", zone=UTC_ZONE, refresh=0.5, lease=2.0)
    if holder:
        options.holder = holder
    dispatcher = Dispatcher(realm, options)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    time.sleep(seconds)
    dispatcher.stop.set()
    thread.join(10)
    assert not thread.is_alive()
    return dispatcher


def fire_records(realm, job_id, status=None):
    events = realm.query_events(job_id=job_id, limit=1000)
    return [e for e in events if e.log and (status is None or e.log[0].status == status)]


def nominal_of(event):
    return event.log[0].info["at"]


def test_fires_at_the_instants_and_the_runs_continue_the_same_item(realm):
    put_jobs(realm, scheduled("tick", "* * * * * *"))
    run_dispatcher(realm, 3.6)
    fired = fire_records(realm, "tick", "dispatched")
    assert 3 <= len(fired) <= 4
    for event in fired:
        late = datetime.fromisoformat(event.log[0].ts_event) - datetime.fromisoformat(nominal_of(event))
        assert 0 <= late.total_seconds() < 0.5, late  # fired at the instant, not on a polling tick
    assert len({nominal_of(e) for e in fired}) == len(fired)
    drain(realm)
    event = realm.get_event("tick", fired[0].run_id)
    assert [e.status for e in event.log] == ["dispatched", "starting", "running", "complete"]


def test_windows_are_checked_per_fire_and_disabled_jobs_are_not_dispatched(realm):
    put_jobs(realm,
             scheduled("closed", [{"crontab": "* * * * * *", "from": "2020-01-01T00:00", "to": "2020-01-02T00:00"}]),
             scheduled("outside", [{"crontab": "* * * * * *", "from": "2020-01-02T00:00", "to": "2020-01-01T00:00"}]),
             scheduled("off", "* * * * * *", enabled=False))
    run_dispatcher(realm, 2.3)
    assert fire_records(realm, "closed", "dispatched") == []
    assert len(fire_records(realm, "closed", "suppressed")) >= 2
    assert len(fire_records(realm, "outside", "dispatched")) >= 2  # excluded only on 2020-01-01
    off = fire_records(realm, "off")
    assert off
    assert {e.log[0].status for e in off} == {"suppressed"}
    assert off[0].log[0].info["note"] == "job not enabled (static)"
    assert realm.queue_depth("core")[0] == len(fire_records(realm, "outside", "dispatched"))


def test_a_restart_never_fires_a_tick_twice_and_catches_up_by_policy(realm):
    put_jobs(realm,
             scheduled("latest", "* * * * * *"),
             scheduled("none", [{"crontab": "* * * * * *", "catchup": "none"}]),
             scheduled("all", [{"crontab": "* * * * * *", "catchup": "all", "catchup_limit": 2}]))
    run_dispatcher(realm, 1.5)
    first = {j: len(fire_records(realm, j, "dispatched")) for j in ("latest", "none", "all")}
    time.sleep(3.2)  # downtime: about three fires of each schedule are missed
    run_dispatcher(realm, 0.3)
    for job_id in ("latest", "none", "all"):
        nominals = Counter(nominal_of(e) for e in fire_records(realm, job_id, "dispatched"))
        assert max(nominals.values()) == 1, f"{job_id}: a tick fired twice"
    caught = {j: len([e for e in fire_records(realm, j, "dispatched") if "catch-up" in e.log[0].info.get("note", "")])
              for j in ("latest", "none", "all")}
    missed = {j: len(fire_records(realm, j, "missed")) for j in ("latest", "none", "all")}
    assert caught == {"latest": 1, "none": 0, "all": 2}
    assert missed["none"] >= 3
    assert missed["latest"] == missed["none"] - 1
    assert missed["all"] == missed["none"] - 2
    assert all(first[j] >= 1 for j in first)


def test_two_processes_of_one_dispatcher_never_both_fire(realm):
    put_jobs(realm, scheduled("tick", "* * * * * *"))
    threads = [threading.Thread(target=run_dispatcher, args=(realm, 3.2), kwargs={"holder": f"h{i}"})
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fired = fire_records(realm, "tick", "dispatched")
    nominals = Counter(nominal_of(e) for e in fired)
    assert max(nominals.values()) == 1
    assert 2 <= len(fired) <= 4


def test_reboot_fires_once_at_start_and_bad_schedules_are_recorded(realm):
    put_jobs(realm, scheduled("boot", "@reboot"))
    realm.put_jobs([{"job_id": "broken", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
                     "dispatcher": "d1", "schedule": "61 * * * *"}])
    run_dispatcher(realm, 1.2)
    boot = fire_records(realm, "boot", "dispatched")
    assert len(boot) == 1
    assert boot[0].log[0].info["note"] == "@reboot: the dispatcher started"
    broken = fire_records(realm, "broken")
    assert broken
    assert "Bad schedule" in broken[0].log[0].info["error"]


def test_preview_marks_dst_changes_and_windows(realm):
    put_jobs(realm, scheduled("nightly", ["30 2 * * *", {"crontab": "0 * * * *", "from": "2026-03-08T03:30",
                                                         "to": "2026-03-08T05:00"}]))
    proc = run_cli("sched", "preview", "nightly", "--from", "2026-03-08T00:30", "--to", "+270m",
                   "--zone", "America/New_York", "--json", realm=realm.describe(), check=True)
    report = json.loads(proc.stdout)
    rows = [(r["schedule"], r["utc"], r["status"], r["dst"]) for r in report["fires"]]
    assert rows == [
        (1, "2026-03-08T06:00:00+00:00", "suppressed", None),
        (1, None, "dst-skipped", "gap: 02:00:00 does not exist; skipped"),
        (0, "2026-03-08T07:00:00+00:00", "fire", "gap: 02:30:00 does not exist; fired at 03:00:00"),
        (1, "2026-03-08T07:00:00+00:00", "suppressed", None),
        (1, "2026-03-08T08:00:00+00:00", "fire", None),
        (1, "2026-03-08T09:00:00+00:00", "fire", None),
        (1, "2026-03-08T10:00:00+00:00", "suppressed", None),
    ]
    table = run_cli("sched", "preview", "nightly", "--from", "2026-03-08T00:30", "--to", "+270m",
                    "--zone", "America/New_York", realm=realm.describe(), check=True).stdout
    assert "2026-03-08T03:00:00-04:00" in table
    assert run_cli("sched", "preview", realm=realm.describe()).returncode == 2


@pytest.fixture(autouse=True)
def _utc_only(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    assert datetime.now(UTC)
