"""The state action writes items that later runs read through their ``state`` field, on both backends."""

from __future__ import annotations

import time

from lava_core.dispatch import DispatchRequest, send
from lava_core.state import get_state
from lava_core.testing import drain, put_jobs


def dispatch_and_drain(realm, job_id, **request):
    run_id = send(realm, DispatchRequest(job_id=job_id, **request)).run_id
    drain(realm)
    return realm.get_event(job_id, run_id), run_id


def test_state_written_by_an_action_is_read_by_a_later_run(realm):
    put_jobs(realm, {
        "job_id": "etl/extract", "type": "cmd", "payload": "echo 2026-03-04",
        "on_success": [{"action": "state", "state_id": "etl/{{ globals.feed }}",
                        "value": {"day": "{{ globals.day }}", "rows": 3, "by": "{{ job.job_id }}"},
                        "ttl": "{{ globals.keep }}"}],
    }, {
        "job_id": "etl/load", "type": "cmd", "state": {"etl/sales": {"day": "never", "rows": 0}},
        "payload": "echo {{ state['etl/sales'].day }} {{ state['etl/sales'].rows + 1 }} {{ job.state['etl/sales'].by }}",
    })
    event, _ = dispatch_and_drain(realm, "etl/extract", globals={"feed": "sales", "day": "2026-03-04", "keep": "2d"})
    assert [e.status for e in event.log] == ["starting", "running", "complete"]
    item = get_state(realm, "etl/sales")
    assert item.value == {"day": "2026-03-04", "rows": 3, "by": "etl/extract"}  # leaf by leaf: 3 stays a number
    assert item.publisher == "etl/extract"  # the default publisher is the job
    assert abs(item.ttl - (time.time() + 2 * 86400)) < 60
    event, run_id = dispatch_and_drain(realm, "etl/load")
    assert event.status == "complete"
    assert realm.get_output("etl/load", run_id, "stdout") == b"2026-03-04 4 etl/extract\n"


def test_raw_type_publisher_cap_and_errors_after_rendering(lava_realm, monkeypatch):
    monkeypatch.setenv("LAVA_STATE_MAX_TTL", "1h")
    put_jobs(lava_realm, {"job_id": "w", "type": "cmd", "payload": "true", "on_success": [
        {"action": "state", "state_id": "counter", "value": "{{ 40 + 2 }}", "type": "{{ 'raw' }}",
         "publisher": "ops/{{ job.job_id }}", "ttl": "30d"},
        {"action": "state", "state_id": "{{ 'LAVA' }}-own", "value": 1},
        {"action": "state", "state_id": "x", "value": 1, "type": "{{ 'secure' }}"},
        {"action": "state", "state_id": "x", "value": 1, "ttl": "{{ 'soon' }}"},
    ]})
    event, _ = dispatch_and_drain(lava_realm, "w")
    assert event.status == "complete"
    item = get_state(lava_realm, "counter")
    assert (item.value, item.type, item.publisher) == ("42", "raw", "ops/w")
    assert item.ttl <= time.time() + 3600 + 5  # capped at STATE_MAX_TTL
    assert [e.info for e in event.log if e.status == "action_failed"] == [
        "on_success action 1 (state): state_id 'LAVA-own': names starting with 'lava' are reserved for lava itself",
        "on_success action 2 (state): type: expected one of json, raw, got 'secure' (rendered from \"{{ 'secure' }}\")",
        "on_success action 3 (state): ttl: expected a duration like '20m', got 'soon' (rendered from \"{{ 'soon' }}\")",
    ]
    assert get_state(lava_realm, "x") is None
