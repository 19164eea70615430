"""One container, from creation to removal: run, wait with a timeout, collect both streams."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

import docker
import requests
from attrs import define
from docker.errors import DockerException, NotFound
from docker.models.containers import Container

from lava_core import JobError, JobTimeout, RunContext
from lava_core.procs import TIMEOUT_EXIT_STATUS

from lava_docker.engine import explain
from lava_docker.reaper import GUARD

STDERR_TAIL = 2000  # bytes of stderr put in a failure's ``error``, as for cmd
KILL_WAIT = 10.0  # seconds to wait for a killed container to be reported stopped

log = logging.getLogger("lava.docker")


@define(frozen=True, kw_only=True)
class ContainerSpec:
    """Everything needed to create the container (``create`` holds the SDK's keyword arguments)."""

    address: str
    image: str
    label: str  # the image as the job wrote it, for the result's ``payload``
    create: dict[str, Any]
    timeout: float


@define(frozen=True)
class Finished:
    """How the container ended."""

    exit_status: int
    timed_out: bool
    oom_killed: bool
    stdout: bytes
    stderr: bytes


def run_container(run: RunContext, client: docker.DockerClient, spec: ContainerSpec) -> dict[str, Any]:
    """Run the container to its end (or its timeout), store its output and return lava's result.

    Raises JobError with the partial result on a non-zero exit, a timeout or an engine error.
    The container is removed in every case.
    """
    name = f"lava-{uuid.uuid4()}"
    finished = _run_and_remove(client, spec, name)
    entry: dict[str, Any] = {"payload": spec.label, "image": spec.image, "container": name,
                             "exit_status": finished.exit_status}
    for stream, data in (("stdout", finished.stdout), ("stderr", finished.stderr)):
        if data:
            entry[stream] = run.save_output(stream, data)
    error = finished.stderr[-STDERR_TAIL:].decode("utf-8", errors="replace").strip() or None
    result = {"exit_status": finished.exit_status, "output": [entry]}
    if finished.timed_out:
        msg = f"Timed out after {spec.timeout:g} seconds"
        raise JobTimeout(msg, data={**result, "error": error})
    if finished.exit_status != 0:
        msg = f"Failed with exit status {finished.exit_status}"
        if finished.oom_killed:
            msg += " (killed by the kernel: out of memory, see host_config.mem_limit)"
        raise JobError(msg, data={**result, "error": error})
    return result


def _run_and_remove(client: docker.DockerClient, spec: ContainerSpec, name: str) -> Finished:
    # Listed with the guard before it exists, so a worker dying at any point after this
    # line cannot leave it behind. It stays listed if it cannot be removed here, so the
    # guard tries again when the worker process ends.
    GUARD.track(name, spec.address)
    removed = False
    try:
        try:
            container = client.containers.create(spec.image, name=name, detach=True, **spec.create)
        except (DockerException, requests.RequestException, TypeError, ValueError) as exc:
            removed = _remove(client, name)  # in case the engine made it but the answer was lost
            raise _engine_error(spec, f"cannot create a container from {spec.image}", exc) from exc
        try:
            return _start_and_wait(container, spec)
        finally:
            removed = _remove(client, name)
    finally:
        if removed:
            GUARD.untrack(name)


def _start_and_wait(container: Container, spec: ContainerSpec) -> Finished:
    try:
        container.start()
    except (DockerException, requests.RequestException) as exc:
        raise _engine_error(spec, f"cannot start container {container.name} from {spec.image}", exc) from exc
    started = time.monotonic()
    timed_out = False
    try:
        status = container.wait(timeout=spec.timeout)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
        # At the timeout Docker raises ReadTimeout and Podman ConnectionError ("Read timed
        # out"); anything earlier means the engine went away.
        if time.monotonic() - started < spec.timeout - 0.5:
            raise _engine_error(spec, f"lost the container engine while container {container.name} ran", exc) \
                from exc
        timed_out = True
        status = None
        _kill(container)
    except DockerException as exc:
        raise _engine_error(spec, f"cannot wait for container {container.name}", exc) from exc
    exit_status = TIMEOUT_EXIT_STATUS if timed_out else _exit_status(status, spec, container)
    try:
        stdout = container.logs(stdout=True, stderr=False)
        stderr = container.logs(stdout=False, stderr=True)
    except (DockerException, requests.RequestException) as exc:
        raise _engine_error(spec, f"cannot read the output of container {container.name}", exc) from exc
    oom = False
    if exit_status != 0 and not timed_out:
        with contextlib.suppress(DockerException, requests.RequestException):
            container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
    return Finished(exit_status, timed_out, oom, stdout, stderr)


def _exit_status(status: Any, spec: ContainerSpec, container: Container) -> int:
    code = status.get("StatusCode") if isinstance(status, dict) else None
    problem = status.get("Error") if isinstance(status, dict) else None
    if isinstance(problem, dict):
        problem = problem.get("Message")
    if not isinstance(code, int) or code < 0:
        msg = f"the container engine at {spec.address} gave no exit status for container {container.name}"
        raise JobError(msg + (f": {problem}" if problem else ""), data=_data(spec))
    return code


def _kill(container: Container) -> None:
    """Kill a container that ran out of time and wait until the engine reports it stopped."""
    with contextlib.suppress(DockerException, requests.RequestException):
        container.kill()
    with contextlib.suppress(DockerException, requests.RequestException):
        container.wait(timeout=KILL_WAIT)


def _remove(client: docker.DockerClient, name: str) -> bool:
    """Force-remove container ``name`` (killing it if it still runs); False if it may still exist."""
    for attempt in (1, 2):
        try:
            client.api.remove_container(name, force=True)
            return True
        except NotFound:
            return True
        except (DockerException, requests.RequestException) as exc:
            if "no such container" in str(exc).lower():
                return True  # Podman answers 500, not 404, for a container removed meanwhile
            if attempt == 2:
                log.warning("container %s could not be removed (%s); the worker's guard removes it when the "
                            "worker ends", name, explain(exc))
    return False


def _data(spec: ContainerSpec) -> dict[str, Any]:
    return {"exit_status": None, "output": [], "docker_host": spec.address, "image": spec.image}


def _engine_error(spec: ContainerSpec, what: str, exc: BaseException) -> JobError:
    return JobError(f"{what} (container engine at {spec.address}): {explain(exc)}", data=_data(spec))
