"""The exe job type on both backends: payload fetching, errors, concurrency."""

from __future__ import annotations

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs

SCRIPT = b'#!/bin/sh\necho "one $1 $2 $GREETING"\necho "$LAVA_S3_PAYLOAD" >&2\n'


def run(backend, spec, *, threads=2, **request):
    put_jobs(backend, {"type": "exe", **spec})
    run_id = send(backend, DispatchRequest(job_id=spec["job_id"], **request)).run_id
    drain(backend, threads=threads)
    return backend.get_event(spec["job_id"], run_id), run_id


def test_exe_runs_the_payload_with_rendered_args_and_env(realm):
    realm.put_payload("demo/run.sh", SCRIPT)
    event, run_id = run(realm, {"job_id": "e", "payload": "demo/run.sh {{ globals.a }}",
                                     "globals": {"a": "A"},
                                     "parameters": {"args": ["b c"], "env": {"GREETING": "hi-{{ globals.a }}"}}})
    assert event.status == "complete", event
    assert realm.get_output("e", run_id, "run.sh.stdout") == b"one A b c hi-A\n"
    assert realm.get_output("e", run_id, "run.sh.stderr").decode().strip().endswith("/payloads/demo/run.sh")
    assert event.log[-1].info["output"][0]["payload"] == "run.sh"


def test_prefix_with_exactly_one_object(realm):
    realm.put_payload("demo/s/01.sh", SCRIPT)
    event, run_id = run(realm, {"job_id": "p", "payload": "demo/s/ X"})
    assert event.status == "complete"
    assert realm.get_output("p", run_id, "01.sh.stdout").startswith(b"one X")


@pytest.mark.parametrize(("setup", "payload", "message"), [
    ((), "demo/nope.sh", "No payload files downloaded from "),
    ((), "empty/", "No payload files downloaded from "),
    (("deep/a.sh", "deep/sub/b.sh"), "deep/", "Recursive download not supported"),
    (("two/a.sh", "two/b.sh"), "two/", "holds 2 objects"),
])
def test_payload_errors_fail_the_run_clearly(realm, setup, payload, message):
    for name in setup:
        realm.put_payload(name, SCRIPT)
    event, _ = run(realm, {"job_id": "bad", "payload": payload})
    assert event.status == "failed"
    assert message in event.log[-1].info["error"]


def test_non_zero_exit_and_timeout_kill(realm):
    realm.put_payload("fail.sh", b"#!/bin/sh\necho nope >&2\nexit 7\n")
    realm.put_payload("hang.sh", b"#!/bin/sh\nsleep 300 &\nsleep 300\n")
    failed, _ = run(realm, {"job_id": "f", "payload": "fail.sh"})
    assert failed.log[-1].info["error"] == "Failed with exit status 7"
    assert failed.log[-1].info["error_data"]["error"] == "nope"
    hung, _ = run(realm, {"job_id": "h", "payload": "hang.sh", "parameters": {"timeout": "1s"}})
    assert hung.log[-1].info["error"] == "Timed out after 1 seconds"
    assert hung.log[-1].info["error_data"]["exit_status"] == 28


def test_script_without_shebang_is_a_clear_error(realm):
    realm.put_payload("crlf.sh", b"echo hi\r\n")
    event, _ = run(realm, {"job_id": "x", "payload": "crlf.sh"})
    assert event.status == "failed"
    assert "a script needs a #! line and LF line ends" in event.log[-1].info["error"]


@pytest.mark.slow
def test_fifty_concurrent_exe_runs_never_hit_text_file_busy(realm):
    realm.put_payload("fast.sh", b"#!/bin/sh\necho $1\n")
    put_jobs(realm, {"job_id": "fast", "type": "exe", "payload": "fast.sh {{ globals.n }}"})
    run_ids = [send(realm, DispatchRequest(job_id="fast", globals={"n": n})).run_id for n in range(50)]
    drain(realm, threads=4)
    outcomes = [realm.get_event("fast", r) for r in run_ids]
    assert [e.status for e in outcomes] == ["complete"] * 50, [e.log[-1].info for e in outcomes if e.status != "complete"]
    assert sorted(int(realm.get_output("fast", r, "fast.sh.stdout")) for r in run_ids) == list(range(50))


def test_exe_payload_validation(lava_host):
    from lava_core.errors import SpecError
    from lava_core.validate import validate_spec

    with pytest.raises(SpecError) as info:
        validate_spec(lava_host, {"job_id": "v", "type": "exe", "worker": "core", "payload": ["a"]})
    assert info.value.problems[0].startswith("$.payload: exe needs a string")
