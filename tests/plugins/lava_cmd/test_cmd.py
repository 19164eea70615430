"""The cmd job type, run by a real worker on both backends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs


def run(backend, spec, **request):
    put_jobs(backend, {"type": "cmd", **spec})
    run_id = send(backend, DispatchRequest(job_id=spec["job_id"], **request)).run_id
    drain(backend)
    return backend.get_event(spec["job_id"], run_id), run_id


def test_jinja_payload_args_env_and_outputs(realm):
    event, run_id = run(realm, {
        "job_id": "t/c1", "payload": "sh -c 'echo {{ globals.who }} $GREETING \"$0\" \"$1\"'",
        "globals": {"who": "world"},
        "parameters": {"env": {"GREETING": "hi-{{ vars.v }}"}, "vars": {"v": "x"},
                       "args": ["a b", "{{ globals.who }} c"]},
    })
    assert event.status == "complete"
    assert realm.get_output("t/c1", run_id, "stdout") == b"world hi-x a b world c\n"
    assert realm.get_output("t/c1", run_id, "stderr") is None  # empty streams are not stored
    result = event.log[-1].info
    assert result["exit_status"] == 0
    assert result["output"][0]["stdout"].endswith(f"/t/c1/{run_id}/stdout")
    assert "stderr" not in result["output"][0]


def test_argv_list_payload_runs_without_a_shell(realm):
    event, run_id = run(realm, {"job_id": "argv", "payload": ["printf", "%s|", "{{ globals.a }}", "$HOME"],
                                     "globals": {"a": "x y"}, "parameters": {"args": ["z"]}})
    assert event.status == "complete"
    assert realm.get_output("argv", run_id, "stdout") == b"x y|$HOME|z|"


def test_lava_variables_and_tmpdir_in_environment(realm, tmp_path):
    put_jobs(realm, {"job_id": "envy", "type": "cmd", "owner": "ops",
                          "payload": 'echo "$LAVA_REALM $LAVA_WORKER $LAVA_JOB_ID $LAVA_RUN_ID $LAVA_OWNER"; '
                                     'echo "$TMPDIR"; pwd; ls -A; mkdir -p junk/deep; touch junk/deep/f left-behind'})
    first = send(realm, DispatchRequest(job_id="envy")).run_id
    second = send(realm, DispatchRequest(job_id="envy")).run_id
    drain(realm, threads=1, tmpdir=tmp_path / "wtmp")
    for run_id in (first, second):
        assert realm.get_event("envy", run_id).status == "complete"
        lines = realm.get_output("envy", run_id, "stdout").decode().splitlines()
        assert lines[0] == f"{realm.realm_name} core envy {run_id} ops"
        assert lines[1] == lines[2]  # TMPDIR is the working directory: the run's scratch folder
        assert lines[1].startswith(str(tmp_path / "wtmp"))
        assert lines[3:] == []  # each run starts empty: what the first left behind is gone
    assert not (tmp_path / "wtmp").exists() or not any((tmp_path / "wtmp").rglob("left-behind"))


def test_non_zero_exit_is_a_failure_with_stderr_tail(realm):
    event, run_id = run(realm, {"job_id": "bad", "payload": "echo out; echo oops >&2; exit 4"})
    assert event.status == "failed"
    info = event.log[-1].info
    assert info["error"] == "Failed with exit status 4"
    assert info["error_data"]["exit_status"] == 4
    assert info["error_data"]["error"] == "oops"
    assert realm.get_output("bad", run_id, "stderr") == b"oops\n"
    assert realm.get_output("bad", run_id, "stdout") == b"out\n"


@pytest.mark.slow
def test_timeout_kills_the_whole_process_group(realm, tmp_path):
    pids = tmp_path / "pids"
    started = time.monotonic()
    event, _ = run(realm, {"job_id": "slow", "parameters": {"timeout": "1s"},
                                "payload": f"sleep 300 & echo $! > {pids}; sleep 300"})
    elapsed = time.monotonic() - started
    assert event.status == "failed"
    info = event.log[-1].info
    assert info["error"] == "Timed out after 1 seconds"
    assert info["error_data"]["exit_status"] == 28
    assert elapsed < 10
    background = int(pids.read_text())
    stat = Path(f"/proc/{background}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_jinja_false_keeps_literals_and_env(realm):
    event, run_id = run(realm, {"job_id": "raw", "payload": "echo '{{x}}' \"$K\"",
                                     "parameters": {"jinja": False, "env": {"K": "{{y}}"}}})
    assert event.status == "complete"
    assert realm.get_output("raw", run_id, "stdout") == b"{{x}} {{y}}\n"


def test_background_children_do_not_outlive_the_job(realm, tmp_path):
    pids = tmp_path / "bg"
    event, _ = run(realm, {"job_id": "bg", "payload": f"sleep 300 & echo $! > {pids}"})
    assert event.status == "complete"
    time.sleep(0.2)
    stat = Path(f"/proc/{int(pids.read_text())}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_missing_executable_is_a_clear_failure(realm):
    event, _ = run(realm, {"job_id": "nope", "payload": ["/no/such/binary"]})
    assert event.status == "failed"
    assert event.log[-1].info["error"] == "cannot run '/no/such/binary': no such file or command"


def test_dispatch_parameters_override_spec(realm):
    _event, run_id = run(realm, {"job_id": "ov", "payload": "echo {{ vars.v }}", "parameters": {"vars": {"v": 1}}},
                        parameters={"vars": {"v": 2}})
    assert realm.get_output("ov", run_id, "stdout") == b"2\n"


def test_payload_validation(lava_host):
    from lava_core.errors import SpecError
    from lava_core.validate import validate_spec

    base = {"job_id": "v", "type": "cmd", "worker": "core"}
    for payload in ("", None, [], {"a": 1}):
        with pytest.raises(SpecError) as info:
            validate_spec(lava_host, {**base, "payload": payload})
        assert info.value.problems[0].startswith("$.payload: cmd needs a command string")
    with pytest.raises(SpecError) as info:
        validate_spec(lava_host, {**base, "payload": "true", "parameters": {"colour": 1, "args": "x"}})
    assert info.value.problems == ["$.parameters.args: expected a list, got string 'x'",
                                   "$.parameters.colour: unknown field"]


def test_keep_failed_keeps_the_failed_runs_folder(realm, tmp_path):
    from lava_core.testing import run_cli

    put_jobs(realm, {"job_id": "messy", "type": "cmd", "payload": "echo evidence > clue.txt; exit {{ globals.code }}"})
    failed = send(realm, DispatchRequest(job_id="messy", globals={"code": 1})).run_id
    passed = send(realm, DispatchRequest(job_id="messy", globals={"code": 0})).run_id
    proc = run_cli("worker", "run", "-w", "core", "--drain", "--keep-failed", "--threads", "1",
                   "--tmpdir", str(tmp_path / "wtmp"), realm=realm.describe())
    assert proc.returncode == 0, proc.stderr
    kept = tmp_path / "wtmp" / realm.realm_name / "failed-runs"
    assert (kept / failed / "clue.txt").read_text() == "evidence\n"
    assert not (kept / passed).exists()
