"""The pkg job type: bundles unpacked safely and a command run inside them."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs

MAIN = b'#!/bin/sh\necho "$1 $2"\npwd\n'


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def tar_bytes(entries, links=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buf.getvalue()


def run(backend, spec, tmpdir=None, **request):
    put_jobs(backend, {"type": "pkg", **spec})
    run_id = send(backend, DispatchRequest(job_id=spec["job_id"], **request)).run_id
    drain(backend, tmpdir=tmpdir)
    return backend.get_event(spec["job_id"], run_id), run_id


@pytest.mark.parametrize(("name", "data"), [("demo/p.zip", zip_bytes({"bin/main.sh": MAIN})),
                                            ("demo/p.tar.gz", tar_bytes({"bin/main.sh": MAIN}))])
def test_bundle_runs_command_inside_it(realm, name, data):
    realm.put_payload(name, data)
    event, run_id = run(realm, {"job_id": "p", "payload": name, "globals": {"a": "y"},
                                     "parameters": {"command": "bin/main.sh {{ globals.a }}", "args": ["z"]}})
    assert event.status == "complete", event.log[-1].info
    label = name.split("/")[-1]
    out = realm.get_output("p", run_id, f"{label}.stdout").decode().splitlines()
    assert out[0] == "y z"
    assert out[1].endswith("/pkg")


def test_prefix_of_files(realm):
    realm.put_payload("tool/main.sh", b'#!/bin/sh\necho "$1 $(cat data.txt)"\n')
    realm.put_payload("tool/data.txt", b"42\n")
    event, run_id = run(realm, {"job_id": "t", "payload": "tool/",
                                     "parameters": {"command": "main.sh '$(not a shell)'"}})
    assert event.status == "complete", event.log[-1].info
    assert realm.get_output("t", run_id, "tool.stdout") == b"$(not a shell) 42\n"


@pytest.mark.parametrize(("data", "why"), [
    (zip_bytes({"../evil.sh": MAIN, "main.sh": MAIN}), "climbs out of the bundle"),
    (zip_bytes({"/tmp/evil.sh": MAIN, "main.sh": MAIN}), "has an absolute path"),
    (tar_bytes({"main.sh": MAIN, "a/../../evil.sh": MAIN}), "climbs out of the bundle"),
    (tar_bytes({"main.sh": MAIN}, links=[("escape", "/etc/passwd")]), "links outside the bundle"),
    (tar_bytes({"main.sh": MAIN}, links=[("sub/up", "../../..")]), "links outside the bundle"),
])
def test_zip_slip_is_refused(realm, tmp_path, data, why):
    name = "bad.zip" if data.startswith(b"PK") else "bad.tar.gz"
    realm.put_payload(name, data)
    event, _ = run(realm, {"job_id": "slip", "payload": name, "parameters": {"command": "main.sh"}},
                   tmpdir=tmp_path / "deep" / "er")
    assert event.status == "failed"
    assert f"Cannot unpack {name}" in event.log[-1].info["error"]
    assert why in event.log[-1].info["error"]
    assert not list(tmp_path.rglob("evil.sh"))


def test_command_must_be_inside_the_bundle(realm):
    realm.put_payload("p.zip", zip_bytes({"main.sh": MAIN}))
    event, _ = run(realm, {"job_id": "c", "payload": "p.zip", "parameters": {"command": "../../bin/sh -c id"}})
    assert event.status == "failed"
    assert "is not a file inside the bundle" in event.log[-1].info["error"]


def test_pkg_validation(lava_host):
    from lava_core.errors import SpecError
    from lava_core.validate import validate_spec

    base = {"job_id": "v", "type": "pkg", "worker": "core"}
    with pytest.raises(SpecError) as info:
        validate_spec(lava_host, {**base, "payload": "p.zip"})
    assert info.value.problems == ["$.parameters.command: required field missing"]
    with pytest.raises(SpecError) as info:
        validate_spec(lava_host, {**base, "payload": "p.rar", "parameters": {"command": "x"}})
    assert "don't know how to unpack 'p.rar'" in info.value.problems[0]
