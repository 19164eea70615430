"""Dispatch overrides (lava's shallow merge) and sending messages to a real local realm."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import pytest

import lava_core
from lava_core.dispatch import DispatchRequest, parse_cli_text, send
from lava_core.errors import DispatchError
from lava_core.lifecycle import merged_job
from lava_core.records import load_job, load_message, parse_ts
from lava_core.testing import put_jobs

LAVA_KEYS = {"realm", "worker", "job_id", "run_id", "ts_dispatch"}


# --------------------------------------------------------------------------- merge


def test_lava_documented_merge_example():
    job = load_job({"job_id": "j", "type": "cmd", "worker": "core", "payload": "x",
                    "parameters": {"action": "run away", "timeout": "20m", "vars": {"whatever": "x"}}})
    (request,), errors = parse_cli_text("j -p timeout=1h -p vars.location=Isabela")
    assert errors == []
    merged = merged_job(job, request.parameters, request.globals)
    # Top level only: the dispatched `vars` map replaces the spec's, so `whatever` is gone.
    assert merged.parameters == {"action": "run away", "timeout": "1h", "vars": {"location": "Isabela"}}
    assert job.parameters["timeout"] == "20m"  # the spec itself is not changed


def test_globals_dispatch_wins_and_spec_keys_are_kept():
    job = load_job({"job_id": "j", "type": "cmd", "worker": "core", "payload": "x",
                    "globals": {"env": "prod", "team": "data", "nested": {"a": 1, "b": 2}}})
    merged = merged_job(job, {}, {"env": "test", "extra": True, "nested": {"a": 9}})
    assert merged.globals == {"env": "test", "team": "data", "extra": True, "nested": {"a": 9}}
    assert merged.parameters == {}
    assert (merged.job_id, merged.worker, merged.payload) == ("j", "core", "x")


def test_merge_with_nothing_dispatched_keeps_spec():
    job = load_job({"job_id": "j", "type": "cmd", "worker": "core", "payload": "x",
                    "parameters": {"p": 1}, "globals": {"g": 2}})
    assert merged_job(job, {}, {}) == job


# --------------------------------------------------------------------------- send


def queued(backend):
    """Every message row of the realm database, read with a separate connection."""
    with sqlite3.connect(backend.db_path) as conn:
        return conn.execute("SELECT queue, body FROM messages").fetchall()


def test_send_puts_lava_message_on_fleet_queue(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    message = send(lava_realm, DispatchRequest(job_id="etl"))
    (row,) = queued(lava_realm)
    assert row[0] == "lava-local-core"
    body = json.loads(row[1])
    assert set(body) == LAVA_KEYS
    assert body == {"realm": "local", "worker": "core", "job_id": "etl", "run_id": message.run_id,
                    "ts_dispatch": message.ts_dispatch}
    assert uuid.UUID(body["run_id"]).version == 4
    assert parse_ts(body["ts_dispatch"]).tzinfo is not None


def test_send_includes_parameters_and_globals_when_given(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi", "worker": "batch"})
    send(lava_realm, DispatchRequest(job_id="etl", parameters={"vars": {"n": 1}}, globals={"g": "x"}))
    (row,) = queued(lava_realm)
    assert row[0] == "lava-local-batch"
    body = json.loads(row[1])
    assert set(body) == LAVA_KEYS | {"parameters", "globals"}
    assert body["parameters"] == {"vars": {"n": 1}} and body["globals"] == {"g": "x"}


def test_request_globals_override_sender_globals(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    message = send(lava_realm, DispatchRequest(job_id="etl", globals={"shared": "request", "own": 1}),
                   sender_globals={"shared": "sender", "inherited": True})
    assert message.globals == {"shared": "request", "inherited": True, "own": 1}
    (received,) = lava_realm.receive_messages("core")
    assert json.loads(received.body)["globals"] == {"shared": "request", "inherited": True, "own": 1}


def test_unknown_job_is_a_dispatch_error(lava_realm):
    with pytest.raises(DispatchError, match="no-such-job") as info:
        send(lava_realm, DispatchRequest(job_id="no-such-job"))
    assert info.value.job_id == "no-such-job"
    assert queued(lava_realm) == []


def test_explicit_worker_skips_the_lookup(lava_realm):
    message = send(lava_realm, DispatchRequest(job_id="not-stored"), worker="gpu")
    assert message.worker == "gpu"
    assert [row[0] for row in queued(lava_realm)] == ["lava-local-gpu"]


def test_received_message_round_trips(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    sent = send(lava_realm, DispatchRequest(job_id="etl", parameters={"a": 1}))
    (received,) = lava_realm.receive_messages("core")
    assert received.receive_count == 1
    assert load_message(json.loads(received.body)) == sent
    assert lava_realm.receive_messages("core") == []  # hidden while being processed


def test_delayed_message_becomes_visible_after_its_delay(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    sent = send(lava_realm, DispatchRequest(job_id="etl", delay=1))
    assert lava_realm.receive_messages("core") == []
    assert lava_realm.queue_depth("core") == (0, 1)
    time.sleep(1.1)
    (received,) = lava_realm.receive_messages("core")
    assert json.loads(received.body)["run_id"] == sent.run_id
    assert received.receive_count == 1


def test_python_api_dispatch_returns_run_id(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    run_id = lava_core.dispatch(lava_realm, "etl", parameters={"n": 2}, globals={"g": 1})
    (received,) = lava_realm.receive_messages("core")
    body = json.loads(received.body)
    assert body["run_id"] == run_id
    assert body["parameters"] == {"n": 2} and body["globals"] == {"g": 1}


def test_python_api_dispatch_refuses_long_delay(lava_realm):
    put_jobs(lava_realm, {"job_id": "etl", "type": "cmd", "payload": "echo hi"})
    with pytest.raises(DispatchError, match="15m"):
        lava_core.dispatch(lava_realm, "etl", delay="20m")
    assert queued(lava_realm) == []


def test_python_api_dispatch_unknown_job(lava_realm):
    with pytest.raises(DispatchError, match="ghost"):
        lava_core.dispatch(lava_realm, "ghost")
