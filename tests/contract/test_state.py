"""The state manager on both backends: items, expiry, leases, jobs reading state, the CLI."""

from __future__ import annotations

import json
import threading
import time

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.state import StateError, claim, get_state, list_state, put_state
from lava_core.testing import drain, put_jobs, run_cli


def test_put_get_list_and_types(realm):
    item = put_state(realm, "etl/watermark", {"ts": "2026-11-01", "n": 3}, ttl="1h", publisher="me")
    assert item.ttl - time.time() == pytest.approx(3600, abs=5)
    got = get_state(realm, "etl/watermark")
    assert (got.value, got.type, got.publisher) == ({"ts": "2026-11-01", "n": 3}, "json", "me")
    assert realm.get_state_item("etl/watermark")["value"] == '{"ts": "2026-11-01", "n": 3}'  # lava's layout
    put_state(realm, "etl/raw", "as is", type="raw")
    assert realm.get_state_item("etl/raw")["value"] == "as is"
    put_state(realm, "other", 1)
    assert [i.state_id for i in list_state(realm, "etl/")] == ["etl/raw", "etl/watermark"]
    assert get_state(realm, "missing") is None
    assert realm.delete_state_item("other")
    assert get_state(realm, "other") is None


def test_expired_items_read_as_missing_and_ttl_is_capped(realm):
    put_state(realm, "old", 1)
    item = realm.get_state_item("old")
    realm.put_state_item({**item, "ttl": int(time.time()) - 1})  # DynamoDB may keep it for days
    assert get_state(realm, "old") is None
    assert list_state(realm) == []
    capped = put_state(realm, "long", 1, ttl="1000d")
    assert capped.ttl - time.time() == pytest.approx(366 * 86400, abs=5)


@pytest.mark.parametrize(("state_id", "options", "message"), [
    ("lava_internal", {}, "reserved"),
    ("", {}, "non-empty"),
    ("x", {"type": "secure"}, "not supported"),
    ("x", {"ttl": "0s"}, "positive"),
])
def test_bad_items_are_refused(realm, state_id, options, message):
    with pytest.raises(StateError, match=message):
        put_state(realm, state_id, 1, **options)


def test_a_lease_has_one_holder_at_a_time(realm):
    assert claim(realm, "lease/dispatcher", "a", ttl=30)
    assert not claim(realm, "lease/dispatcher", "b", ttl=30)
    assert claim(realm, "lease/dispatcher", "a", ttl=30)  # renewal by the holder
    realm.put_state_item({**realm.get_state_item("lease/dispatcher"), "ttl": int(time.time()) - 1})
    assert claim(realm, "lease/dispatcher", "b", ttl=30)  # expired: taken over
    results: list[bool] = []
    start = threading.Barrier(6)

    def contend(name):
        start.wait()
        results.append(claim(realm, "lease/race", name, ttl=30))

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def test_jobs_receive_current_state_values(realm):
    put_jobs(realm, {"job_id": "st", "type": "cmd", "state": {"counter": 0, "label": "none"},
                     "payload": "echo {{ state.counter }} {{ state.label }} {{ job.state.counter }}"})
    first = send(realm, DispatchRequest(job_id="st")).run_id
    drain(realm)
    put_state(realm, "counter", 41)
    second = send(realm, DispatchRequest(job_id="st")).run_id
    drain(realm)
    assert realm.get_output("st", first, "stdout") == b"0 none 0\n"
    assert realm.get_output("st", second, "stdout") == b"41 none 41\n"


def test_state_cli(realm):
    spec = realm.describe()
    assert run_cli("state", "put", "greeting", '{"to": "world"}', "--ttl", "1h", realm=spec, check=True)
    assert run_cli("state", "get", "greeting", realm=spec, check=True).stdout == '{"to": "world"}\n'
    rendered = run_cli("state", "get", "greeting", "Hello {{ state.to }} from {{ s.publisher }}", realm=spec)
    assert rendered.stdout == "Hello world from lava state CLI\n"
    listing = json.loads(run_cli("state", "ls", "--json", realm=spec, check=True).stdout)
    assert [(i["state_id"], i["value"]) for i in listing] == [("greeting", {"to": "world"})]
    assert run_cli("state", "get", "nothing", realm=spec).returncode == 1
    assert run_cli("state", "get", "nothing", "-i", realm=spec).stdout == "\n"
    assert run_cli("state", "put", "lava-x", "1", realm=spec).returncode == 2
    assert run_cli("state", "rm", "greeting", realm=spec, check=True)
    assert run_cli("state", "rm", "greeting", realm=spec).returncode == 1
