"""Docker connections on a real engine: the engine address, and the registry login before the pull.

The registry is a stand-in on localhost:5055 (registry_standin.py) that Podman reaches over
plain HTTP because scripts/infra/podman.sh declares that address insecure. Every run goes
through a real worker; the stand-in records what the engine sent it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from attrs import evolve
from docker.errors import DockerException

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs

from tests.plugins.lava_docker.conftest import IMAGE, engine, engine_address
from tests.plugins.lava_docker.registry_standin import PORT, REPOSITORY, TAG, Registry

if engine()[0] is None:
    pytest.skip(engine()[1], allow_module_level=True)

REGISTRIES_CONF = Path("/etc/containers/registries.conf.d/50-lava-test-registry.conf")
PASSWORD = "s3cret-Pa55"
CONN = {"conn_id": "reg/main", "type": "docker", "enabled": True, "registry": f"localhost:{PORT}",
        "user": "robot", "password_env": "LAVA_TEST_REGISTRY_PW"}
REMOTE = f"localhost:{PORT}/{REPOSITORY}:{TAG}"


@pytest.fixture
def registry(docker_client, monkeypatch):
    if f'"localhost:{PORT}"' not in (REGISTRIES_CONF.read_text() if REGISTRIES_CONF.exists() else ""):
        pytest.fail(f"{REGISTRIES_CONF} does not declare localhost:{PORT} insecure: run scripts/infra/podman.sh")
    monkeypatch.setenv("LAVA_TEST_REGISTRY_PW", PASSWORD)
    with Registry("robot", PASSWORD) as standin:
        yield standin
    with contextlib.suppress(DockerException):
        docker_client.images.remove(REMOTE, force=True)


def run(realm, tmp_path, spec):
    put_jobs(realm, {"type": "docker", "payload": IMAGE, **spec})
    run_id = send(realm, DispatchRequest(job_id=spec["job_id"])).run_id
    drain(realm, threads=1, tmpdir=tmp_path / "wtmp")
    event = realm.get_event(spec["job_id"], run_id)
    return event, run_id, event.log[-1].info


def test_login_then_pull_with_the_credentials_and_run(lava_realm, tmp_path, registry, docker_client):
    with contextlib.suppress(DockerException):
        docker_client.images.remove(REMOTE, force=True)
    lava_realm.put_connections([CONN])
    event, run_id, info = run(lava_realm, tmp_path, {
        "job_id": "reg/pull", "payload": REMOTE,
        "parameters": {"docker": "reg/main", "pull": "always", "command": "echo pulled {{ vars.v }}",
                       "vars": {"v": "ok"}, "host_config": {"network_mode": "none"}}})
    assert event.status == "complete", info
    assert lava_realm.get_output("reg/pull", run_id, "stdout") == b"pulled ok\n"
    assert registry.authorized("/v2/") and registry.requests[0][:2] == ("GET", "/v2/")  # the login
    assert registry.authorized(f"/v2/{REPOSITORY}/manifests/")  # the pull sent the login's credentials
    assert registry.authorized(f"/v2/{REPOSITORY}/blobs/")
    assert not [r for r in registry.requests if r[2] is not None and r[2] != registry.expected]


def test_realm_connection_logs_in_before_using_a_local_image(lava_realm, tmp_path, registry):
    lava_realm.put_connections([CONN])
    lava_realm.put_realm(evolve(lava_realm.get_realm(), docker="reg/main"))
    event, run_id, info = run(lava_realm, tmp_path, {
        "job_id": "reg/local", "parameters": {"command": ["echo", "hi"], "pull": "if-missing",
                                              "host_config": {"network_mode": "none"}}})
    assert event.status == "complete", info
    assert lava_realm.get_output("reg/local", run_id, "stdout") == b"hi\n"
    assert registry.authorized("/v2/") == ["GET"]  # logged in once; the local image needed no pull


def test_wrong_password_fails_naming_registry_and_user(lava_realm, tmp_path, registry, monkeypatch):
    lava_realm.put_connections([CONN])
    monkeypatch.setenv("LAVA_TEST_REGISTRY_PW", "not-the-password")
    event, _, info = run(lava_realm, tmp_path, {"job_id": "reg/bad", "parameters": {"docker": "reg/main"}})
    assert event.status == "failed"
    assert info["error"].startswith(
        f"cannot log in to registry localhost:{PORT} as user robot (connection reg/main, container engine at "
        f"{engine_address()}): ")
    assert "401" in info["error"]
    assert info["error_data"]["registry"] == f"localhost:{PORT}"
    assert info["error_data"]["user"] == "robot"
    assert "not-the-password" not in json.dumps(event.log, default=str)
    assert registry.requests and not registry.authorized("/v2/")


def test_disabled_missing_and_incomplete_connections_fail_clearly(lava_realm, tmp_path, monkeypatch):
    lava_realm.put_connections([{**CONN, "conn_id": "reg/off", "enabled": False}, CONN])
    _, _, info = run(lava_realm, tmp_path, {"job_id": "reg/off", "parameters": {"docker": "reg/off"}})
    assert info["error"] == "Connection reg/off: Not enabled"
    _, _, info = run(lava_realm, tmp_path, {"job_id": "reg/none", "parameters": {"docker": "reg/nope"}})
    assert info["error"] == ("Connection reg/nope: not in the realm's connections table "
                             "(store it with `lava conn put FILE`)")
    monkeypatch.delenv("LAVA_TEST_REGISTRY_PW", raising=False)
    event, _, info = run(lava_realm, tmp_path, {"job_id": "reg/noenv", "parameters": {"docker": "reg/main"}})
    assert event.status == "failed"
    assert info["error"] == "Connection reg/main: the worker has no environment variable LAVA_TEST_REGISTRY_PW " \
                            "(password_env)"


def test_connection_server_is_the_engine(lava_realm, tmp_path, monkeypatch, docker_client):
    address = engine_address()
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # the worker's own engine: absent
    monkeypatch.delenv("LAVA_DOCKER_HOST", raising=False)
    lava_realm.put_connections([
        {"conn_id": "eng/ok", "type": "docker", "enabled": True, "server": address, "timeout": "30s"},
        {"conn_id": "eng/gone", "type": "docker", "enabled": True, "server": "tcp://127.0.0.1:9", "tls": False}])
    event, run_id, info = run(lava_realm, tmp_path, {
        "job_id": "eng/ok", "parameters": {"docker": "eng/ok", "command": ["echo", "via connection"],
                                           "host_config": {"network_mode": "none"}}})
    assert event.status == "complete", info
    assert lava_realm.get_output("eng/ok", run_id, "stdout") == b"via connection\n"
    _, _, info = run(lava_realm, tmp_path, {"job_id": "eng/gone", "parameters": {"docker": "eng/gone"}})
    assert info["error"] == ("cannot reach the container engine at tcp://127.0.0.1:9: Connection refused "
                             "(the server of docker connection eng/gone)")
