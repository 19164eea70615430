"""Checks of docker job specs that need no engine: image references, parameters, host_config keys."""

from __future__ import annotations

import re

import pytest

from lava_core.errors import SpecError
from lava_core.plugins import PluginHost
from lava_core.validate import validate_spec

from lava_docker import plugin
from lava_docker.params import parse_image


@pytest.fixture
def host() -> PluginHost:
    return PluginHost(entry_points=False, plugins=[("lava-docker", plugin)])


def problems(host: PluginHost, payload: object = "lava-test/busybox:latest", **parameters: object) -> list[str]:
    spec = {"job_id": "d", "type": "docker", "worker": "core", "payload": payload, "parameters": parameters}
    try:
        validate_spec(host, spec)
    except SpecError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(("text", "name", "tag", "reference"), [
    ("busybox", "busybox", None, "busybox:latest"),
    ("lava-test/busybox:1.36", "lava-test/busybox", "1.36", "lava-test/busybox:1.36"),
    ("registry.example:5000/team/app:1.2", "registry.example:5000/team/app", "1.2",
     "registry.example:5000/team/app:1.2"),
    ("localhost:5000/app", "localhost:5000/app", None, "localhost:5000/app:latest"),
    ("ghcr.io/org/tool_x__y.z-w:v1_2.3-rc", "ghcr.io/org/tool_x__y.z-w", "v1_2.3-rc",
     "ghcr.io/org/tool_x__y.z-w:v1_2.3-rc"),
    ("app@sha256:" + "a" * 64, "app", None, "app@sha256:" + "a" * 64),
])
def test_image_references_lava_refused_are_accepted(text, name, tag, reference):
    image = parse_image(text)
    assert (image.name, image.tag, image.reference) == (name, tag, reference)


@pytest.mark.parametrize(("text", "complaint"), [
    ("", "expected an image reference"),
    (" busybox", "expected an image reference"),
    ("Busybox", "bad repository name 'Busybox'"),
    ("team//app", "bad repository name ''"),
    ("app:", "bad tag ''"),
    ("app:a/b", "bad registry 'app:a'"),
    ("reg.example:port/app", "bad registry 'reg.example:port'"),
    ("app@sha256:xyz", "bad digest 'sha256:xyz'"),
])
def test_bad_image_references(text, complaint):
    with pytest.raises(ValueError, match="^" + re.escape(complaint)):
        parse_image(text)


def test_valid_spec_has_no_problems(host):
    assert problems(host, command="sh -c 'echo {{ globals.x }}'", args=["a"], env={"A": 1},
                    host_config={"network_mode": "none", "mem_limit": "64m", "user": "1000"},
                    pull="never", timeout="30s", docker_host="unix:///run/podman.sock") == []
    assert problems(host, None, image="registry.example:5000/app:2") == []  # the image as a parameter


def test_bad_host_config_key_is_reported_with_its_path(host):
    found = problems(host, host_config={"privileged": True, "network_mode": "none", "volumes": {}})
    assert [p.split(" (allowed")[0] for p in found] == [
        "$.parameters.host_config.privileged: not an allowed host_config key",
        "$.parameters.host_config.volumes: not an allowed host_config key",
    ]
    assert "network_mode" in found[0]  # the message lists what is allowed


def test_every_problem_is_reported_at_once(host):
    found = problems(host, "Not An Image", pull="sometimes", command=["ok", {"no": 1}], docker=" ", timeout="0s")
    assert found == [
        "$.payload: bad repository name 'Not An Image' in image 'Not An Image' "
        "(lower-case letters, digits and single separators . _ - only)",
        "$.parameters.command[1]: expected a string or a number, got {'no': 1}",
        "$.parameters.pull: expected one of if-missing, always, never, got 'sometimes'",
        "$.parameters.docker: empty connection id (leave it out to use the realm's docker connection, if any)",
        "$.parameters.timeout: must be more than 0, got '0s'",
    ]
    assert problems(host, colour="red") == ["$.parameters.colour: unknown field"]
    assert problems(host, docker="reg/main") == []  # a connection id: looked up when the job runs


def test_missing_image_and_wrong_types(host):
    assert problems(host, None) == [
        "$.payload: docker needs an image reference like 'repository[:tag]' as its payload "
        "or in parameters.image, got None"]
    assert problems(host, ["a"]) == [
        "$.payload: docker needs an image reference like 'repository[:tag]' as its payload "
        "or in parameters.image, got ['a']"]
    assert problems(host, host_config=["network_mode"], args="x") == [
        "$.parameters.args: expected a list, got string 'x'",
        "$.parameters.host_config: expected a map, got list ['network_mode']",
    ]
