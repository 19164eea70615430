"""A run's lifecycle, the same on both backends: statuses, retries, checks, actions, rejections."""

from __future__ import annotations

import json
import logging

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs


def statuses(backend, job_id, run_id):
    event = backend.get_event(job_id, run_id)
    assert event is not None, f"no event for {job_id}/{run_id}"
    return [e.status for e in event.log]


def dispatch(backend, job_id, **kwargs):
    return send(backend, DispatchRequest(job_id=job_id, **kwargs)).run_id


def test_success_records_lava_sequence_and_empties_queue(realm):
    put_jobs(realm, {"job_id": "ok", "type": "cmd", "payload": "echo hi"})
    run_id = dispatch(realm, "ok")
    drain(realm)
    event = realm.get_event("ok", run_id)
    assert [e.status for e in event.log] == ["starting", "running", "complete"]
    assert event.log[1].info == "Iteration 1"
    assert event.status == "complete"
    assert event.worker == "core"
    assert event.hostname
    assert event.ttl is not None
    assert "+" in event.ts_event or "-" in event.ts_event[19:]  # aware: carries an offset
    assert "+" not in event.tu_event  # naive UTC
    assert realm.queue_depth("core") == (0, 0)
    assert realm.get_output("ok", run_id, "stdout") == b"hi\n"


def test_retries_then_success_with_on_retry_and_on_success(realm, caplog):
    script = 'n=$(cat "$TMPDIR/cnt" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$TMPDIR/cnt"; [ $n -ge 3 ]'
    put_jobs(realm, {
        "job_id": "flaky", "type": "cmd", "payload": script, "iteration_limit": 3, "iteration_delay": "0.2s",
        "on_retry": [{"action": "log", "message": "R{{ globals.lava.iteration }}"}],
        "on_success": [{"action": "log", "message": "OK{{ globals.lava.iteration }}"}],
        "on_fail": [{"action": "log", "message": "NEVER"}],
    })
    run_id = dispatch(realm, "flaky")
    with caplog.at_level(logging.INFO, logger="lava.action"):
        drain(realm)
    assert statuses(realm, "flaky", run_id) == [
        "starting", "running", "retrying", "running", "retrying", "running", "complete"]
    messages = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "lava.action"]
    assert messages == ["R1", "R2", "OK3"]


def test_failure_records_error_data_and_fires_only_on_fail(realm, caplog):
    put_jobs(realm, {
        "job_id": "boom", "type": "cmd", "payload": "echo boom >&2; exit 3",
        "on_fail": [{"action": "log", "message": "F {{ result.error }}"}],
        "on_success": [{"action": "log", "message": "NEVER"}],
    })
    run_id = dispatch(realm, "boom")
    with caplog.at_level(logging.INFO, logger="lava.action"):
        drain(realm)
    event = realm.get_event("boom", run_id)
    assert [e.status for e in event.log] == ["starting", "running", "failed"]
    info = event.log[-1].info
    assert info["error"] == "Failed with exit status 3"
    assert info["error_data"]["exit_status"] == 3
    assert info["error_data"]["error"] == "boom"
    assert info["error_data"]["output"][0]["stderr"].endswith("/stderr")
    logged = [r.getMessage() for r in caplog.records if r.name == "lava.action"]
    assert len(logged) == 1
    assert logged[0].startswith("F Failed with exit status 3")
    # A job failure is an outcome, not a bad message: deleted, not dead-lettered.
    assert realm.queue_depth("core") == (0, 0)
    assert realm.list_dead_letters() == []


def test_static_disabled_is_skipped_without_starting(realm):
    put_jobs(realm, {"job_id": "off", "type": "cmd", "payload": "true", "enabled": False})
    run_id = dispatch(realm, "off")
    drain(realm)
    event = realm.get_event("off", run_id)
    assert [(e.status, e.info) for e in event.log] == [("skipped", "Job not enabled (static)")]


def test_dynamic_enabled_renders_against_globals(realm):
    put_jobs(realm, {"job_id": "dyn", "type": "cmd", "payload": "true", "enabled": "{{ globals.go }}"})
    yes = dispatch(realm, "dyn", globals={"go": " True "})
    no = dispatch(realm, "dyn", globals={"go": "yes"})
    drain(realm)
    assert statuses(realm, "dyn", yes) == ["starting", "running", "complete"]
    event = realm.get_event("dyn", no)
    assert [e.status for e in event.log] == ["starting", "skipped"]
    assert event.log[-1].info == "Job not enabled (enabled='yes')"


def test_max_run_delay_rejects_and_dead_letters(realm, caplog):
    put_jobs(realm, {"job_id": "late", "type": "cmd", "payload": "true", "max_run_delay": "1s",
                          "on_fail": [{"action": "log", "message": "NEVER"}]})
    run_id = dispatch(realm, "late", delay=2)
    with caplog.at_level(logging.INFO, logger="lava.action"):
        drain(realm)  # waits for the delayed message: drained means empty
    event = realm.get_event("late", run_id)
    assert [e.status for e in event.log] == ["starting", "rejected"]
    assert event.log[-1].info == "dispatch is more than 1s old"
    assert not [r for r in caplog.records if r.name == "lava.action"]
    letters = realm.list_dead_letters("core")
    assert [json.loads(d.body)["run_id"] for d in letters] == [run_id]
    assert letters[0].reason == "dispatch is more than 1s old"


def test_event_log_rendered_leaf_by_leaf(realm):
    put_jobs(realm, {"job_id": "ev", "type": "cmd", "payload": "true",
                          "event_log": {"g": "{{ globals.g }}", "n": 3}})
    quoted = dispatch(realm, "ev", globals={"g": 'a"b'})
    drain(realm)
    event = realm.get_event("ev", quoted)
    assert [e.status for e in event.log] == ["starting", "logging", "running", "complete"]
    assert event.log[1].info == {"g": 'a"b', "n": 3}  # lava's JSON-template trick broke on the quote


def test_globals_lava_and_merge_precedence_reach_the_job(realm):
    put_jobs(realm, {
        "job_id": "m", "type": "cmd",
        "payload": "echo {{ job.parameters.timeout }} {{ job.parameters.vars.location }}"
                   "-{{ job.parameters.vars.whatever }}- {{ globals.country }} "
                   "{{ globals.ocean }} {{ globals.lava.master_job_id }} {{ globals.lava.iteration }}",
        "parameters": {"timeout": "20m", "vars": {"whatever": "x"}},
        "globals": {"country": "R", "ocean": "Atlantic"},
    })
    run_id = dispatch(realm, "m", parameters={"timeout": "1h", "vars": {"location": "Isabela"}},
                      globals={"country": "Equador"})
    drain(realm)
    out = realm.get_output("m", run_id, "stdout").decode()
    assert out == "1h Isabela-- Equador Atlantic m 1\n"


def _receive_and_refuse(realm):
    drain(realm)
    letters = realm.list_dead_letters("core")
    assert len(letters) == 1, letters
    return letters[0]


def test_unknown_job_is_rejected_with_event_and_dead_letter(realm):
    run_id = send(realm, DispatchRequest(job_id="ghost"), worker="core").run_id
    letter = _receive_and_refuse(realm)
    assert "no such job 'ghost'" in letter.reason
    event = realm.get_event("ghost", run_id)
    assert event.status == "rejected"
    assert "no such job" in event.log[-1].info


def test_malformed_message_never_crashes_the_worker(realm):
    realm.send_raw("core", "{not json")
    realm.send_raw("core", json.dumps({"realm": realm.realm_name, "worker": "core", "job_id": "x",
                                            "run_id": "not-a-uuid", "ts_dispatch": "2025-01-01T00:00:00+00:00",
                                            "colour": "red"}))
    put_jobs(realm, {"job_id": "fine", "type": "cmd", "payload": "true"})
    good = dispatch(realm, "fine")
    drain(realm)
    reasons = sorted(d.reason for d in realm.list_dead_letters("core"))
    assert len(reasons) == 2
    assert reasons[0].startswith("$: message body is not JSON")
    assert "$.colour: unknown field" in reasons[1]
    assert "$.run_id: expected a UUID" in reasons[1]
    assert realm.get_event("fine", good).status == "complete"
    rejected = realm.query_events(status="rejected")
    assert {e.job_id for e in rejected} == {"(unknown)", "x"}


def test_invalid_stored_spec_type_without_plugin_and_bad_params(realm):
    realm.put_jobs([
        {"job_id": "badspec", "type": "cmd", "worker": "core", "payload": "true", "enabled": True,
         "max_run_delay": "soon"},
        {"job_id": "notype", "type": "teleport", "worker": "core", "payload": None, "enabled": True},
        {"job_id": "badparam", "type": "cmd", "worker": "core", "payload": "true", "enabled": True,
         "parameters": {"timeout": "later"}},
    ])
    ids = {j: send(realm, DispatchRequest(job_id=j), worker="core").run_id
           for j in ("badspec", "notype", "badparam")}
    drain(realm)
    infos = {j: realm.get_event(j, r).log[-1].info for j, r in ids.items()}
    assert infos["badspec"] == "Bad job spec: $.max_run_delay: expected a duration like '20m', got 'soon'"
    assert "no installed plugin provides job type 'teleport'" in infos["notype"]
    assert infos["badparam"] == ("Bad job parameters: $.parameters.timeout: "
                                 "expected a duration like '20m', got 'later'")
    assert len(realm.list_dead_letters("core")) == 3


def test_worker_mismatch_and_max_tries(realm):
    put_jobs(realm, {"job_id": "elsewhere", "type": "cmd", "payload": "true", "worker": "gpu"})
    run_id = send(realm, DispatchRequest(job_id="elsewhere"), worker="core").run_id
    letter = _receive_and_refuse(realm)
    assert "Worker mismatch: job 'elsewhere' runs on fleet 'gpu', this worker is 'core'" in letter.reason
    assert realm.get_event("elsewhere", run_id).status == "rejected"

    put_jobs(realm, {"job_id": "once", "type": "cmd", "payload": "true", "max_tries": 1})
    once = dispatch(realm, "once")
    # First delivery taken by a worker that died: the message comes back with receive count 2.
    taken = realm.receive_messages("core", visibility=0)
    assert taken[0].receive_count == 1
    drain(realm)
    event = realm.get_event("once", once)
    assert event.status == "rejected"
    assert event.log[-1].info == "max_tries exceeded: delivery 2 of at most 1"


def test_failing_action_is_recorded_and_does_not_change_outcome(realm, bus_events):
    put_jobs(realm, {"job_id": "act", "type": "cmd", "payload": "true", "on_success": [
        {"action": "log", "message": "{{ nope( }}"},
        {"action": "teleport"},
        {"action": "event"},
    ]})
    run_id = dispatch(realm, "act")
    drain(realm)
    event = realm.get_event("act", run_id)
    assert event.status == "complete"
    assert [e.status for e in event.log] == ["starting", "running", "complete", "action_failed", "action_failed"]
    assert "on_success action 0 (log)" in event.log[3].info
    assert "unknown action 'teleport'" in event.log[4].info
    bus = bus_events()
    assert len(bus) == 1
    assert bus[0]["detail"]["job_id"] == "act"
    assert bus[0]["detail"]["status"] == "complete"


def test_realm_actions_apply_unless_job_overrides(realm, caplog):
    from attrs import evolve

    realm.put_realm(evolve(realm.get_realm(), on_fail=[{"action": "log", "message": "REALM"}]))
    put_jobs(realm,
             {"job_id": "inherit", "type": "cmd", "payload": "false"},
             {"job_id": "override", "type": "cmd", "payload": "false", "on_fail": []})
    dispatch(realm, "inherit")
    dispatch(realm, "override")
    with caplog.at_level(logging.INFO, logger="lava.action"):
        drain(realm)
    logged = [r.getMessage() for r in caplog.records if r.name == "lava.action"]
    assert len(logged) == 1
    assert logged[0].startswith("REALM [job inherit")


def test_jump_start_dispatches_enabled_lavasched_jobs_of_this_fleet(realm):
    from lava_core.plugins import PluginHost
    from lava_core.worker import Worker, WorkerOptions

    realm.put_jobs([
        {"job_id": "sched", "type": "lavasched", "worker": "core", "enabled": True, "payload": None},
        {"job_id": "sched-off", "type": "lavasched", "worker": "core", "enabled": False, "payload": None},
        {"job_id": "sched-other", "type": "lavasched", "worker": "other", "enabled": True, "payload": None},
        {"job_id": "plain", "type": "cmd", "worker": "core", "enabled": True, "payload": "true"},
    ])
    worker = Worker(realm, PluginHost(), WorkerOptions(fleet="core", install_signals=False))
    run_ids = worker.jump_start()
    assert len(run_ids) == 1
    assert realm.queue_depth("core") == (0, 1)  # delayed: not visible yet
    assert realm.queue_depth("other") == (0, 0)


def test_changed_spec_is_used_at_once(realm):
    from lava_core.errors import SpecError

    put_jobs(realm, {"job_id": "v", "type": "cmd", "payload": "echo one"})
    assert realm.load_job("v").payload == "echo one"
    put_jobs(realm, {"job_id": "v", "type": "cmd", "payload": "echo two"})
    assert realm.load_job("v").payload == "echo two"
    run_id = dispatch(realm, "v")
    drain(realm)
    assert realm.get_output("v", run_id, "stdout") == b"two\n"
    realm.put_jobs([{"job_id": "v", "type": "cmd", "worker": "core", "payload": "x", "bogus": 1}])
    with pytest.raises(SpecError):
        realm.load_job("v")
    assert realm.load_job("ghost") is None


def test_local_record_cache_is_kept_while_the_spec_is_unchanged(lava_realm):
    put_jobs(lava_realm, {"job_id": "v", "type": "cmd", "payload": "echo one"})
    first = lava_realm.load_job("v")
    assert lava_realm.load_job("v") is first
    put_jobs(lava_realm, {"job_id": "v", "type": "cmd", "payload": "echo two"})
    assert lava_realm.load_job("v") is not first
