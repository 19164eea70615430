"""A real container engine for the docker job tests, or one explicit reason why there is none.

``scripts/test.sh`` starts rootful Podman (``scripts/infra/podman.sh``) and exports
``DOCKER_HOST``. The engine is probed once; the test modules that need it skip
with the probe's reason when it cannot be reached, and the end of the pytest
output says either way whether the docker tests ran against a real engine.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import docker
import pytest
import requests

IMAGE = "lava-test/busybox:latest"
LABEL = "lava.realm"
# Worker processes whose containers the leak check covers: this one, plus workers a test starts.
OWN_PIDS: set[int] = {os.getpid()}


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@functools.cache
def engine() -> tuple[str | None, str]:
    """``(description, "")`` if an engine answers at DOCKER_HOST, else ``(None, reason)``."""
    address = engine_address()
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
            version = client.version()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        return None, (f"no container engine reachable at {address} ({exc}); "
                      "start one with: export DOCKER_HOST=$(bash scripts/infra/podman.sh)")
    name = next((c.get("Name") for c in version.get("Components", []) if c.get("Name")), "engine")
    return f"{name} {version.get('Version')} (API {version.get('ApiVersion')}) at {address}", ""


@pytest.fixture(scope="session")
def engine_client() -> Iterator[docker.DockerClient | None]:
    """A client for the engine, or None when there is none (the docker tests are skipped then)."""
    if engine()[0] is None:
        yield None
        return
    client = docker.from_env(timeout=30)
    yield client
    client.close()


@pytest.fixture
def docker_client(engine_client: docker.DockerClient | None) -> docker.DockerClient:
    if engine_client is None:
        pytest.skip(engine()[1])
    try:
        engine_client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the engine at {engine_address()} has no {IMAGE}: build it with scripts/infra/podman.sh")
    return engine_client


def leftover(client: docker.DockerClient) -> list[str]:
    """lava containers still on the engine that this test session's workers created (then removed)."""
    found = []
    for container in client.api.containers(all=True, filters={"label": LABEL}):
        labels = container.get("Labels") or {}
        if labels.get("lava.pid", "").isdigit() and int(labels["lava.pid"]) in OWN_PIDS:
            found.append(f"{container['Names'][0].lstrip('/')} ({labels.get('lava.job_id')}, {container['State']})")
            client.api.remove_container(container["Id"], force=True)
    return found


@pytest.fixture(autouse=True)
def no_container_left(engine_client: docker.DockerClient | None) -> Iterator[None]:
    """After every docker test: no container labelled ``lava.realm`` from this session is left."""
    yield
    if engine_client is None:
        return
    left = leftover(engine_client)
    assert not left, f"containers left behind: {left}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line, even with -q, saying whether the docker job tests ran on a real engine."""
    here = ("tests/plugins/lava_docker/test_docker", "tests/plugins/lava_docker/test_registry")
    reports = {kind: [r for r in terminalreporter.stats.get(kind, []) if getattr(r, "nodeid", "").startswith(here)]
               for kind in ("passed", "failed", "skipped", "error")}
    if not any(reports.values()):
        return  # the docker tests were not selected in this run
    passed, failed = reports["passed"], reports["failed"] + reports["error"]
    found, reason = engine()
    if found is None:
        terminalreporter.write_line(f"lava-docker: docker job tests SKIPPED: {reason}", yellow=True, bold=True)
    else:
        terminalreporter.write_line(f"lava-docker: {len(passed)} passed, {len(failed)} failed "
                                    f"on a real container engine: {found}", bold=True)
