"""The lava CLI in a subprocess: exit codes, validation without writes, dispatch --wait, json output."""

from __future__ import annotations

import json
import subprocess

import pytest

from lava_core.testing import lava_command, run_cli

GOOD = {"job_id": "hello", "type": "cmd", "worker": "core", "enabled": True, "payload": "echo hello"}


@pytest.fixture
def realm(tmp_path):
    proc = run_cli("realm", "init", realm=tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert "created" in proc.stdout
    again = run_cli("realm", "init", realm=tmp_path / "r")
    assert "exists" in again.stdout
    return tmp_path / "r"


def test_job_put_validates_all_files_and_writes_none_on_error(realm, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    bad = tmp_path / "etl.yaml"
    bad.write_text("job_id: etl\ntype: cmd\nworker: core\npayload: x\nparameters:\n  timeout: soon\nbogus: 1\n")
    proc = run_cli("job", "put", str(good), str(bad), realm=realm)
    assert proc.returncode == 2
    assert f"{bad}: $.parameters.timeout: expected a duration like '20m', got 'soon'" in proc.stdout
    assert f"{bad}: $.bogus: unknown field" in proc.stdout
    assert "no job was written" in proc.stderr
    listing = run_cli("job", "ls", "--json", realm=realm)
    assert json.loads(listing.stdout) == []

    assert run_cli("job", "validate", str(good), realm=realm).returncode == 0
    assert run_cli("job", "put", str(good), realm=realm).returncode == 0
    got = run_cli("job", "get", "hello", realm=realm)
    assert json.loads(got.stdout) == GOOD
    assert "hello" in run_cli("job", "ls", realm=realm).stdout
    assert run_cli("job", "rm", "hello", realm=realm).returncode == 0
    assert run_cli("job", "get", "hello", realm=realm).returncode == 1


def test_yaml_list_and_duplicate_ids(realm, tmp_path):
    specs = tmp_path / "jobs.yaml"
    specs.write_text("- {job_id: a, type: cmd, worker: core, payload: 'true'}\n"
                     "- {job_id: a, type: cmd, worker: core, payload: 'false'}\n")
    proc = run_cli("job", "validate", str(specs), realm=realm)
    assert proc.returncode == 2
    assert "'a' is also defined in" in proc.stdout


def test_dispatch_wait_exit_codes_and_events_json(realm, tmp_path):
    specs = tmp_path / "jobs.json"
    specs.write_text(json.dumps([GOOD, {**GOOD, "job_id": "sad", "payload": "exit 5"}]))
    run_cli("job", "put", str(specs), realm=realm, check=True)
    worker = subprocess.Popen([*lava_command(), "--realm", str(realm), "worker", "run", "-w", "core",
                               "--poll-wait", "0.2s"], stderr=subprocess.DEVNULL)
    try:
        ok = run_cli("dispatch", "hello", "--wait", "--timeout", "60s", realm=realm)
        assert ok.returncode == 0, ok.stderr
        assert "complete" in ok.stdout
        sad = run_cli("dispatch", "sad", "--wait", "--json", "--timeout", "60s", realm=realm)
        assert sad.returncode == 1
        assert json.loads(sad.stdout)["status"] == "failed"
    finally:
        worker.terminate()
        assert worker.wait(30) == 0
    events = json.loads(run_cli("events", "--json", realm=realm).stdout)
    assert {e["job_id"]: e["status"] for e in events} == {"hello": "complete", "sad": "failed"}
    keys = {"job_id", "run_id", "status", "ts_dispatch", "ts_event", "tu_event", "worker", "hostname", "log"}
    assert keys <= set(events[0])
    failed = run_cli("events", "--status", "failed", realm=realm)
    assert "sad" in failed.stdout
    assert "hello" not in failed.stdout


def test_dispatch_usage_errors(realm):
    assert run_cli("dispatch", "hello", "-d", "20m", realm=realm).returncode == 2
    assert run_cli("dispatch", "hello", "-p", "novalue", realm=realm).returncode == 2
    missing = run_cli("dispatch", "ghost", realm=realm)
    assert missing.returncode == 1
    assert "cannot dispatch 'ghost': no such job" in missing.stderr
    assert run_cli("frobnicate", realm=realm).returncode == 2


def test_run_in_process_prints_output_and_exit_code(realm, tmp_path):
    specs = tmp_path / "jobs.json"
    specs.write_text(json.dumps([{**GOOD, "payload": "echo {{ globals.x }}"},
                                 {**GOOD, "job_id": "sad", "payload": "exit 3"}]))
    run_cli("job", "put", str(specs), realm=realm, check=True)
    ok = run_cli("run", "hello", "-g", "x=42", realm=realm)
    assert ok.returncode == 0
    assert "42" in ok.stdout
    assert run_cli("run", "sad", realm=realm).returncode == 1


def test_plugins_json_lists_cmd_and_core_actions(realm):
    proc = run_cli("plugins", "--json", realm=realm)
    assert proc.returncode == 0
    infos = {i["distribution"]: i for i in json.loads(proc.stdout)}
    assert infos["lava-cmd"]["job_types"] == ["cmd", "exe", "pkg"]
    assert set(infos["lava-core"]["actions"]) == {"log", "event"}
    blocked = run_cli("plugins", "--json", realm=realm, env={"LAVA_DISABLE_PLUGINS": "lava-cmd"})
    assert "lava-cmd" not in {i["distribution"] for i in json.loads(blocked.stdout)}


def test_dead_letters_listed(realm, tmp_path):
    run_cli("dispatch", "ghost", "-w", "core", realm=realm, check=True)
    drained = run_cli("worker", "run", "-w", "core", "--drain", realm=realm)
    assert drained.returncode == 0
    letters = json.loads(run_cli("dlq", "--json", realm=realm).stdout)
    assert len(letters) == 1
    assert "no such job 'ghost'" in letters[0]["reason"]


def test_realm_show_and_aws_options_need_aws(realm, tmp_path):
    shown = json.loads(run_cli("realm", "show", realm=realm, check=True).stdout)
    assert shown["realm"] == "local"
    assert shown["where"] == str(realm)
    assert shown["s3_payloads"].startswith("file://")
    misuse = run_cli("realm", "init", "--bucket", "b", realm=realm)
    assert misuse.returncode == 2
    assert "go with --aws NAME" in misuse.stderr
    assert run_cli("realm", "show", realm=tmp_path / "none").returncode == 2
