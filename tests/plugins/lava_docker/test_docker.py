"""The docker job type on a real container engine (Podman's Docker API in CI), through real workers.

Every run goes through the worker lifecycle (store the spec, dispatch, drain the
queue) and starts a real container from the offline image lava-test/busybox.
After each test the conftest checks that no container of this session is left.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs, run_cli, wait_for_status

from tests.plugins.lava_docker.conftest import IMAGE, OWN_PIDS, engine

if engine()[0] is None:
    pytest.skip(engine()[1], allow_module_level=True)


def run(realm, tmp_path, spec, *, threads=1, **request):
    """Store a docker job (no network unless it says otherwise), dispatch it once, drain the queue."""
    parameters = {**spec.get("parameters", {})}
    parameters["host_config"] = {"network_mode": "none", **parameters.get("host_config", {})}
    put_jobs(realm, {"type": "docker", "payload": IMAGE, **spec, "parameters": parameters})
    run_id = send(realm, DispatchRequest(job_id=spec["job_id"], **request)).run_id
    drain(realm, threads=threads, tmpdir=tmp_path / "wtmp")
    return realm.get_event(spec["job_id"], run_id), run_id


def containers_of(client, run_id):
    """The run's containers as ``{name: state}`` (listing only: no inspect that races a removal)."""
    found = client.api.containers(all=True, filters={"label": f"lava.run_id={run_id}"})
    return {c["Names"][0].lstrip("/"): c["State"] for c in found}


def test_success_renders_command_args_and_env(lava_realm, tmp_path, docker_client):
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/ok", "owner": "ops", "globals": {"who": "big world"},
        "parameters": {
            "command": "sh -c 'printf \"%s|\" \"$0\" \"$1\" \"$2\" \"$GREETING\" \"$LAVA_JOB_ID\" \"$LAVA_RUN_ID\" "
                       "\"$LAVA_OWNER\"; echo; pwd; echo \"$LAVA_TMP\"; hostname; id -u' {{ globals.who }}",
            "args": ["a b", "{{ vars.v }} c"],
            "env": {"GREETING": "hi-{{ vars.v }}"},
            "vars": {"v": "x"},
        },
    })
    assert event.status == "complete", event.log[-1].info
    lines = lava_realm.get_output("dk/ok", run_id, "stdout").decode().splitlines()
    assert lines[0] == f"big world|a b|x c|hi-x|dk/ok|{run_id}|ops|"
    assert lines[1] == lines[2]  # the working directory is LAVA_TMP, the run folder
    assert lines[1].startswith(str(tmp_path / "wtmp"))
    assert lines[3] == f"lava-local-core-{run_id}"
    assert lines[4] == str(os.geteuid())
    assert lava_realm.get_output("dk/ok", run_id, "stderr") is None  # empty streams are not stored
    result = event.log[-1].info
    assert result["exit_status"] == 0
    entry = result["output"][0]
    assert entry["payload"] == IMAGE
    assert entry["image"] == IMAGE
    assert entry["container"].startswith("lava-")
    assert entry["stdout"].endswith(f"/dk/ok/{run_id}/stdout")
    assert "stderr" not in entry
    assert containers_of(docker_client, run_id) == {}  # removed after a success


def test_environment_is_lava_variables_and_job_env_only(lava_realm, tmp_path, monkeypatch):
    monkeypatch.setenv("LAVA_FROM_WORKER", "yes")
    monkeypatch.setenv("WORKER_SECRET", "must not leak")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/env", "parameters": {"command": ["env"], "env": {"SPACED": "a  b", "LAVA_REALM": "mine"}}})
    assert event.status == "complete", event.log[-1].info
    env = dict(line.split("=", 1) for line in lava_realm.get_output("dk/env", run_id, "stdout").decode().splitlines())
    assert env["LAVA_FROM_WORKER"] == "yes"
    assert "WORKER_SECRET" not in env
    assert env["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    assert env["SPACED"] == "a  b"
    assert env["LAVA_REALM"] == "local"  # lava's own variables win over the job's env
    assert env["LAVA_WORKER"] == "core"
    assert env["LAVA_TMP"].startswith(str(tmp_path / "wtmp"))


def test_non_zero_exit_fails_with_stderr_and_stdout_stored_separately(lava_realm, tmp_path):
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/bad", "parameters": {"command": ["sh", "-c", "echo out; echo oops >&2; echo more; exit 4"]}})
    assert event.status == "failed"
    info = event.log[-1].info
    assert info["error"] == "Failed with exit status 4"
    assert info["error_data"]["exit_status"] == 4
    assert info["error_data"]["error"] == "oops"
    assert info["error_data"]["output"][0]["stderr"].endswith(f"/dk/bad/{run_id}/stderr")
    assert lava_realm.get_output("dk/bad", run_id, "stdout") == b"out\nmore\n"
    assert lava_realm.get_output("dk/bad", run_id, "stderr") == b"oops\n"


def test_args_alone_replace_the_default_command_and_jinja_false_renders_nothing(lava_realm, tmp_path):
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/raw", "parameters": {"args": ["sh", "-c", "echo '{{ x }}' \"$K\""], "jinja": False,
                                           "env": {"K": "{{ y }}"}}})
    assert event.status == "complete", event.log[-1].info
    assert lava_realm.get_output("dk/raw", run_id, "stdout") == b"{{ x }} {{ y }}\n"


def test_run_folder_is_mounted_read_write_at_the_same_path(lava_realm, tmp_path):
    # The container writes into its working directory and fails; --keep-failed keeps the
    # run folder, so the files are checked from the host side.
    put_jobs(lava_realm, {"job_id": "dk/mount", "type": "docker", "payload": IMAGE, "parameters": {
        "command": ["sh", "-c", 'echo from-container > clue.txt; echo "$LAVA_TMP" > where.txt; exit 1'],
        "host_config": {"network_mode": "none"}}})
    run_id = send(lava_realm, DispatchRequest(job_id="dk/mount")).run_id
    proc = run_cli("worker", "run", "-w", "core", "--drain", "--keep-failed", "--threads", "1",
                   "--tmpdir", str(tmp_path / "wtmp"), realm=lava_realm.root)
    assert proc.returncode == 0, proc.stderr
    assert lava_realm.get_event("dk/mount", run_id).status == "failed"
    kept = tmp_path / "wtmp" / "local" / "failed-runs" / run_id
    assert (kept / "clue.txt").read_text() == "from-container\n"
    assert (kept / "clue.txt").stat().st_uid == os.geteuid()  # written as the worker's user
    mounted = Path((kept / "where.txt").read_text().strip())
    assert mounted.parent.parent == tmp_path / "wtmp" / "local"  # <tmpdir>/<realm>/<worker>.<pid>/<run folder>


def test_a_retry_sees_what_the_failed_attempt_left_in_the_run_folder(lava_realm, tmp_path):
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/retry", "iteration_limit": 2, "iteration_delay": "0s",
        "parameters": {"command": ["sh", "-c", 'if [ -f note ]; then cat note; else echo first > note; exit 3; fi']}})
    assert event.status == "complete", event.log[-1].info
    assert [e.status for e in event.log] == ["starting", "running", "retrying", "running", "complete"]
    assert lava_realm.get_output("dk/retry", run_id, "stdout") == b"first\n"


def test_timeout_kills_and_removes_the_container(lava_realm, tmp_path, docker_client):
    started = time.monotonic()
    event, run_id = run(lava_realm, tmp_path, {
        "job_id": "dk/slow", "parameters": {"timeout": "2s", "command": ["sh", "-c", "echo begun; sleep 60"]}})
    elapsed = time.monotonic() - started
    assert event.status == "failed"
    info = event.log[-1].info
    assert info["error"] == "Timed out after 2 seconds"
    assert info["error_data"]["exit_status"] == 28
    assert lava_realm.get_output("dk/slow", run_id, "stdout") == b"begun\n"  # output up to the kill is kept
    assert 2 <= elapsed < 6, elapsed
    assert containers_of(docker_client, run_id) == {}


def test_pull_never_with_a_missing_image_is_a_clear_failure(lava_realm, tmp_path):
    event, _ = run(lava_realm, tmp_path, {"job_id": "dk/never", "payload": "lava-test/absent:1",
                                          "parameters": {"pull": "never"}})
    assert event.status == "failed"
    address = os.environ["DOCKER_HOST"]
    assert event.log[-1].info["error"] == (
        f"image lava-test/absent:1 is not on the container engine at {address} and parameters.pull is 'never'")


def test_image_that_cannot_be_pulled_is_a_clear_failure(lava_realm, tmp_path):
    # No registry is reachable from CI machines; where one is, the image still does not exist.
    event, _ = run(lava_realm, tmp_path, {"job_id": "dk/pull", "payload": "lava-test/absent:1"})
    assert event.status == "failed"
    error = event.log[-1].info["error"]
    assert error.startswith(f"cannot pull image lava-test/absent:1 (container engine at {os.environ['DOCKER_HOST']}): ")
    assert len(error) > len("cannot pull image lava-test/absent:1 (container engine at ): ") + 20  # the reason


def _dead_socket(tmp_path):
    return f"unix://{tmp_path / 'dead.sock'}"


def _refusing_port(_tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("how", ["parameter", "DOCKER_HOST"])
@pytest.mark.parametrize("address_of", [_dead_socket, _refusing_port], ids=["dead-socket", "closed-port"])
def test_unreachable_engine_fails_quickly_naming_the_address(lava_realm, tmp_path, monkeypatch, how, address_of):
    address = address_of(tmp_path)
    parameters = {"command": ["true"]}
    if how == "parameter":
        parameters["docker_host"] = address
    else:
        monkeypatch.setenv("DOCKER_HOST", address)
    started = time.monotonic()
    event, _ = run(lava_realm, tmp_path, {"job_id": "dk/nowhere", "parameters": parameters})
    assert time.monotonic() - started < 5
    assert event.status == "failed"
    error = event.log[-1].info["error"]
    assert error.startswith(f"cannot reach the container engine at {address}: ")
    reason = "No such file or directory" if address.startswith("unix") else "Connection refused"
    assert reason in error
    assert event.log[-1].info["error_data"]["docker_host"] == address


def test_engine_that_never_answers_fails_within_the_connect_timeout(lava_realm, tmp_path):
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        event, _ = run(lava_realm, tmp_path, {"job_id": "dk/silent", "parameters": {"docker_host": address}})
        elapsed = time.monotonic() - started
    assert event.status == "failed"
    assert event.log[-1].info["error"].startswith(f"cannot reach the container engine at {address}: no answer")
    assert 4 < elapsed < 9, elapsed


def test_bad_host_config_key_rejects_the_run_before_any_container(lava_realm, tmp_path):
    event, _ = run(lava_realm, tmp_path, {"job_id": "dk/priv", "parameters": {"host_config": {"privileged": True}}})
    assert event.status == "rejected"
    assert event.log[-1].info.startswith(
        "Bad job spec: $.parameters.host_config.privileged: not an allowed host_config key (allowed: ")


def test_host_config_user_working_dir_and_limits_reach_the_engine(lava_realm, tmp_path):
    event, run_id = run(lava_realm, tmp_path, {"job_id": "dk/limits", "parameters": {
        "command": ["sh", "-c", "id -u; pwd; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null "
                                "|| cat /sys/fs/cgroup/memory.max"],
        "host_config": {"user": "1234", "working_dir": "/tmp", "mem_limit": "64m", "nano_cpus": 500_000_000}}})
    assert event.status == "complete", event.log[-1].info
    assert lava_realm.get_output("dk/limits", run_id, "stdout").decode().splitlines() == [
        "1234", "/tmp", str(64 * 1024 * 1024)]


def test_host_config_value_the_engine_refuses_is_a_clear_failure(lava_realm, tmp_path):
    event, _ = run(lava_realm, tmp_path, {"job_id": "dk/lots", "parameters": {"host_config": {"mem_limit": "lots"}}})
    assert event.status == "failed"
    assert event.log[-1].info["error"].startswith(
        f"cannot create a container from {IMAGE} (container engine at {os.environ['DOCKER_HOST']}): ")


def test_parallel_runs_each_get_their_own_container(lava_realm, tmp_path):
    put_jobs(lava_realm, {"job_id": "dk/par", "type": "docker", "payload": IMAGE, "parameters": {
        "command": ["sh", "-c", "echo {{ globals.n }}; sleep 0.5"], "host_config": {"network_mode": "none"}}})
    run_ids = [send(lava_realm, DispatchRequest(job_id="dk/par", globals={"n": n})).run_id for n in range(4)]
    drain(lava_realm, threads=2, tmpdir=tmp_path / "wtmp")
    for n, run_id in enumerate(run_ids):
        assert lava_realm.get_event("dk/par", run_id).status == "complete"
        assert lava_realm.get_output("dk/par", run_id, "stdout") == f"{n}\n".encode()


@pytest.mark.parametrize("stop", ["kill -9", "SIGTERM twice"])
def test_container_is_removed_when_its_worker_dies(lava_realm, lava_worker, docker_client, stop):
    put_jobs(lava_realm, {"job_id": "dk/orphan", "type": "docker", "payload": IMAGE, "parameters": {
        "command": ["sleep", "300"], "host_config": {"network_mode": "none"}}})
    worker = lava_worker(lava_realm, "core", "--poll-wait", "0.2s", "--grace", "60s")
    OWN_PIDS.add(worker.pid)
    run_id = send(lava_realm, DispatchRequest(job_id="dk/orphan")).run_id
    wait_for_status(lava_realm, "dk/orphan", run_id, statuses={"running"})
    deadline = time.monotonic() + 20
    while "running" not in containers_of(docker_client, run_id).values():
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    if stop == "kill -9":
        worker.kill9()
    else:
        worker.signal(signal.SIGTERM)  # drain: the job may finish within the grace period…
        time.sleep(0.3)
        worker.signal(signal.SIGTERM)  # …second signal: stop hard, killing running jobs
        assert worker.wait() == 143
    started = time.monotonic()
    # Gone from the engine, and the guard (which logs to the worker's stderr) says it removed it.
    while containers_of(docker_client, run_id) or "removed container lava-" not in worker.log():
        assert time.monotonic() - started < 15, f"container still there; worker log:\n{worker.log()}"
        time.sleep(0.1)
