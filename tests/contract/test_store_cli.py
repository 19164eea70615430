"""``lava payload`` and ``lava output`` on both backends, through the CLI."""

from __future__ import annotations

import json

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.errors import BackendError
from lava_core.testing import drain, put_jobs, run_cli


def test_payload_put_ls_get(realm, tmp_path):
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    assert run_cli("payload", "put", str(script), "demo/s/", realm=realm.describe()).returncode == 0
    assert run_cli("payload", "put", str(script), "demo/other.sh", realm=realm.describe()).returncode == 0
    listing = json.loads(run_cli("payload", "ls", "demo/s", "--json", realm=realm.describe()).stdout)
    assert listing == [{"name": "demo/s/run.sh", "size": 18}]
    got = run_cli("payload", "get", "demo/s/run.sh", realm=realm.describe())
    assert got.stdout == "#!/bin/sh\necho hi\n"
    saved = tmp_path / "copy.sh"
    assert run_cli("payload", "get", "demo/other.sh", "-o", str(saved), realm=realm.describe()).returncode == 0
    assert saved.read_bytes() == script.read_bytes()
    assert run_cli("payload", "get", "nope", realm=realm.describe()).returncode == 1
    assert run_cli("payload", "put", str(tmp_path / "missing"), realm=realm.describe()).returncode == 2


def test_payload_names_cannot_escape_the_payload_area(realm):
    for name in ("../outside", "/etc/passwd", "a/../../b", "", "dir/"):
        with pytest.raises(BackendError):
            realm.put_payload(name, b"x")
    assert realm.list_payloads() == []


def test_output_get_prints_saves_and_filters(realm, tmp_path):
    put_jobs(realm, {"job_id": "noisy", "type": "cmd", "payload": "echo out; echo err >&2"})
    run_id = send(realm, DispatchRequest(job_id="noisy")).run_id
    drain(realm)
    everything = run_cli("output", "get", run_id, realm=realm.describe())
    assert everything.returncode == 0
    assert everything.stdout == "--- noisy stderr\nerr\n--- noisy stdout\nout\n"
    only = run_cli("output", "get", run_id, "--name", "stdout", realm=realm.describe())
    assert only.stdout == "out\n"
    assert run_cli("output", "get", run_id, "-o", str(tmp_path / "o"), realm=realm.describe()).returncode == 0
    assert (tmp_path / "o" / "noisy" / "stderr").read_text() == "err\n"
    assert run_cli("output", "get", run_id, "--job", "other", realm=realm.describe()).returncode == 1
    assert run_cli("output", "get", "no-such-run", realm=realm.describe()).returncode == 1
