"""The Backend interface itself, call by call: queues, tables and stores behave alike on both backends."""

from __future__ import annotations

import json
import time

import pytest
from attrs import evolve

from lava_core.errors import BackendError
from lava_core.records import EventEntry


def entry(status, second, info=None):
    return EventEntry(status=status, info=info, ts_event=f"2026-03-01T10:00:{second:02d}+11:00",
                      tu_event=f"2026-02-28T23:00:{second:02d}")


def test_receive_hides_counts_and_releases(realm):
    realm.send_message("core", {"n": 1})
    first = realm.receive_messages("core", visibility=30)
    assert [json.loads(m.body) for m in first] == [{"n": 1}]
    assert first[0].receive_count == 1
    assert realm.queue_depth("core") == (0, 1)
    assert realm.receive_messages("core", visibility=30) == []  # hidden from everyone else
    assert realm.extend_visibility("core", first[0].receipt, 0)  # released at once
    again = realm.receive_messages("core", visibility=30)
    assert again[0].message_id == first[0].message_id
    assert again[0].receive_count == 2
    # Settling the finished message and taking the next is one call.
    realm.send_message("core", {"n": 2})
    nxt = realm.receive_messages("core", visibility=30, delete_first=again[0].receipt)
    assert [json.loads(m.body) for m in nxt] == [{"n": 2}]
    realm.delete_message("core", nxt[0].receipt)
    assert realm.queue_depth("core") == (0, 0)


def test_visibility_runs_out_and_the_message_reappears(realm):
    realm.send_message("core", {"n": 1})
    taken = realm.receive_messages("core", visibility=1)
    assert taken
    assert realm.receive_messages("core", wait=0.3, visibility=1) == []
    back = realm.receive_messages("core", wait=3, visibility=30)
    assert back[0].receive_count == 2


def test_extending_visibility_keeps_a_message_hidden(realm):
    realm.send_message("core", {"n": 1})
    taken = realm.receive_messages("core", visibility=1)[0]
    assert realm.extend_visibility("core", taken.receipt, 3)
    time.sleep(1.5)
    assert realm.receive_messages("core", visibility=1) == []
    assert realm.queue_depth("core") == (0, 1)


def test_delay_hides_a_message_until_due_and_is_capped_at_15_minutes(realm):
    realm.send_message("core", {"n": 1}, delay=1)
    assert realm.receive_messages("core") == []
    assert realm.queue_depth("core") == (0, 1)  # delayed counts as not drained
    got = realm.receive_messages("core", wait=3)
    assert len(got) == 1
    with pytest.raises(BackendError, match="15m"):
        realm.send_message("core", {"n": 2}, delay=901)


def test_long_poll_returns_when_a_message_arrives(realm):
    import threading

    timer = threading.Timer(0.5, realm.send_message, args=("core", {"late": True}))
    timer.start()
    started = time.monotonic()
    got = realm.receive_messages("core", wait=5)
    assert len(got) == 1
    assert time.monotonic() - started < 3
    timer.join()


def test_queues_of_fleets_are_separate(realm):
    realm.send_message("gpu", {"n": 1})
    assert realm.receive_messages("core") == []
    assert realm.queue_depth("gpu") == (1, 0)


def test_dead_letters_keep_body_reason_and_count(realm):
    realm.send_message("core", {"job_id": "x"})
    realm.send_message("gpu", {"job_id": "y"})
    for fleet, reason in (("core", "$.job_id: no such job 'x'"), ("gpu", "bad")):
        message = realm.receive_messages(fleet)[0]
        realm.dead_letter(fleet, message, reason)
    assert realm.queue_depth("core") == (0, 0)
    core = realm.list_dead_letters("core")
    assert [(json.loads(d.body), d.reason, d.receive_count, d.queue) for d in core] == [
        ({"job_id": "x"}, "$.job_id: no such job 'x'", 1, realm.queue_name("core"))]
    assert {d.queue for d in realm.list_dead_letters()} == {realm.queue_name("core"), realm.queue_name("gpu")}
    # Listing does not consume: a second listing shows the same letters.
    assert len(realm.list_dead_letters()) == 2


def test_jobs_table_round_trips_plain_data(realm):
    spec = {"job_id": "grp/a", "type": "cmd", "worker": "core", "enabled": True, "payload": None,
            "parameters": {"ratio": 1.5, "n": 3, "args": ["x", 2, None, {"k": False}], "empty": {}},
            "x-note": "kept"}
    realm.put_jobs([spec, {**spec, "job_id": "grp/b"}])
    assert realm.get_job("grp/a") == spec
    assert [s["job_id"] for s in realm.list_jobs()] == ["grp/a", "grp/b"]
    assert realm.delete_job("grp/a")
    assert not realm.delete_job("grp/a")
    assert realm.get_job("grp/a") is None


def test_many_jobs_are_written_in_batches(realm):
    realm.put_jobs([{"job_id": f"j{i:03d}", "type": "cmd", "worker": "core", "payload": "true"} for i in range(60)])
    assert len(realm.list_jobs()) == 60


def test_events_append_set_fields_and_query(realm):
    realm.record_event("a", "r1", [entry("starting", 1), entry("running", 2)],
                       {"status": "running", "ts_event": entry("running", 2).ts_event, "ttl": 1800000000,
                        "tu_event": entry("running", 2).tu_event, "worker": "core", "worker_id": None})
    realm.record_event("a", "r1", [entry("complete", 3, {"exit_status": 0})],
                       {"status": "complete", "ts_event": entry("complete", 3).ts_event,
                        "tu_event": entry("complete", 3).tu_event})
    realm.record_event("a", "r2", [entry("failed", 5, {"error": "x"})],
                       {"status": "failed", "ts_event": entry("failed", 5).ts_event,
                        "tu_event": entry("failed", 5).tu_event})
    realm.record_event("b", "r3", [entry("complete", 4)],
                       {"status": "complete", "ts_event": entry("complete", 4).ts_event,
                        "tu_event": entry("complete", 4).tu_event})
    realm.flush()
    one = realm.get_event("a", "r1")
    assert [e.status for e in one.log] == ["starting", "running", "complete"]
    assert one.log[2].info == {"exit_status": 0}
    assert (one.status, one.worker, one.ttl) == ("complete", "core", 1800000000)
    assert [e.run_id for e in realm.query_events(job_id="a")] == ["r2", "r1"]  # newest first
    assert [e.run_id for e in realm.query_events(job_id="a", limit=1)] == ["r2"]
    assert [e.run_id for e in realm.query_events(job_id="a", status="complete")] == ["r1"]
    assert [e.job_id for e in realm.query_events(run_id="r3")] == ["b"]
    assert [e.run_id for e in realm.query_events(status="complete")] == ["r3", "r1"]
    assert [e.run_id for e in realm.query_events()] == ["r2", "r3", "r1"]
    assert realm.get_event("a", "nope") is None


def test_outputs_and_payloads(realm):
    assert realm.put_output("grp/j", "r1", "stdout", b"out").endswith("grp/j/r1/stdout")
    realm.put_output("grp/j", "r1", "stderr", b"err")
    assert realm.list_outputs("grp/j", "r1") == ["stderr", "stdout"]
    assert realm.get_output("grp/j", "r1", "stdout") == b"out"
    assert realm.get_output("grp/j", "r1", "nope") is None
    assert realm.list_outputs("grp/j", "r9") == []
    for name, data in (("demo/run.sh", b"#!/bin/sh\n"), ("demo/run.sh.bak", b"x"), ("demo/sub/a", b"aa"),
                       ("other", b"")):
        realm.put_payload(name, data)
    assert realm.list_payloads("demo/") == [("demo/run.sh", 10), ("demo/run.sh.bak", 1), ("demo/sub/a", 2)]
    assert realm.list_payloads("demo/run.sh") == [("demo/run.sh", 10), ("demo/run.sh.bak", 1)]
    assert [n for n, _ in realm.list_payloads()] == ["demo/run.sh", "demo/run.sh.bak", "demo/sub/a", "other"]
    assert realm.get_payload("other") == b""
    assert realm.get_payload("missing") is None


def test_realm_record_round_trips(realm):
    record = realm.get_realm()
    changed = evolve(record, config={"EVENT_TTL": "1d"}, on_fail=[{"action": "log", "message": "x"}])
    realm.put_realm(changed)
    assert realm.get_realm() == changed


def test_s3triggers_table_finds_entries_by_bucket_and_prefix(realm):
    entries = [{"trigger_id": f"t{i}", "bucket": bucket, "prefix": prefix, "job_id": "j", "enabled": True}
               for i, (bucket, prefix) in enumerate([("in", "a/b"), ("in", "a/b"), ("in", "a"), ("in", "*"),
                                                     ("other", "a/b")])]
    realm.put_triggers(entries)
    assert [t["trigger_id"] for t in realm.query_triggers("in", "a/b")] == ["t0", "t1"]
    assert [t["trigger_id"] for t in realm.query_triggers("in", "*")] == ["t3"]
    assert realm.query_triggers("in", "a/b/c") == []
    assert realm.get_trigger("t4") == entries[4]
    assert [t["trigger_id"] for t in realm.list_triggers()] == ["t0", "t1", "t2", "t3", "t4"]
    assert realm.delete_trigger("t0")
    assert not realm.delete_trigger("t0")


def test_jobs_of_a_dispatcher_come_from_its_index(realm):
    realm.put_jobs([{"job_id": f"j{i}", "type": "cmd", "worker": "core", "payload": "true", "dispatcher": d,
                     "schedule": "0 * * * *"} for i, d in enumerate(["main", "other", "main", None])])
    assert [s["job_id"] for s in realm.jobs_of_dispatcher("main")] == ["j0", "j2"]
    assert realm.jobs_of_dispatcher("main")[0]["schedule"] == "0 * * * *"  # whole specs, not the index projection
    assert realm.jobs_of_dispatcher("nobody") == []
