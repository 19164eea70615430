"""The container engine: where it is, connecting to it quickly or failing clearly, and images.

Every docker and requests error is translated here (and in :mod:`lava_docker.container`)
into a :class:`lava_core.JobError` that names the engine address.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound

from lava_core import JobError, RunContext

from lava_docker.params import DockerParams, ImageRef

DEFAULT_ADDRESS = "unix:///var/run/docker.sock"
CONNECT_TIMEOUT = 5.0  # seconds to reach the engine and get an answer to _ping
API_TIMEOUT = 120.0  # seconds any later call may go without an answer (waits set their own)

# The API version negotiated per address. Negotiating costs a /version call, which takes
# 0.3 s on Podman, so it is done once per worker process and engine; later runs only ping.
_versions: dict[str, str] = {}
_versions_lock = threading.Lock()


def engine_address(run: RunContext, params: DockerParams, server: str | None = None) -> str:
    """``parameters.docker_host``, else the docker connection's ``server``, else ``$LAVA_DOCKER_HOST``,
    ``$DOCKER_HOST``, the realm's ``DOCKER_HOST`` config, else the default local socket."""
    config = run.realm.config
    for value in (params.docker_host, server, os.environ.get("LAVA_DOCKER_HOST"), os.environ.get("DOCKER_HOST"),
                  config.get("DOCKER_HOST"), config.get("docker_host")):
        if value:
            return str(value).strip()
    return DEFAULT_ADDRESS


def explain(exc: BaseException) -> str:
    """The useful part of a docker/requests error: the engine's explanation, else the OS error at its root."""
    if isinstance(exc, APIError) and exc.explanation:
        return str(exc.explanation)
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and item.strerror:
            return item.strerror
        todo += [*item.args, item.__cause__, item.__context__]
    text = str(exc)
    if "timed out" in text.lower():
        return "no answer (timed out)"
    return text.removeprefix("Error while fetching server API version: ")


@contextlib.contextmanager
def connect(address: str, *, tls: bool | None = None, timeout: float | None = None,
            hint: str = "set DOCKER_HOST on the worker or parameters.docker_host") -> Iterator[docker.DockerClient]:
    """A client for the engine at ``address`` that has answered a ping, closed afterwards.

    ``tls`` None: TLS as the worker's ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH`` say (as the
    docker CLI); true or false: a docker connection's ``tls`` (HTTPS with the system's CAs for a
    ``tcp://`` address). ``timeout`` limits each later engine call (default :data:`API_TIMEOUT`).
    An engine that is missing, refuses or does not answer within :data:`CONNECT_TIMEOUT` is a
    JobError naming the address (and ``hint``); never a hang.
    """
    with _versions_lock:
        version = _versions.get(address, "auto")
    try:
        if tls is None:
            environment = {**os.environ, "DOCKER_HOST": address}
            client = docker.from_env(environment=environment, version=version, timeout=CONNECT_TIMEOUT)
        else:
            client = docker.DockerClient(base_url=address, tls=tls, version=version, timeout=CONNECT_TIMEOUT)
    except (DockerException, requests.RequestException, ImportError) as exc:  # ImportError: ssh:// without paramiko
        raise _unreachable(address, exc, hint) from exc
    try:
        try:
            client.ping()
        except (DockerException, requests.RequestException) as exc:
            with _versions_lock:
                _versions.pop(address, None)
            raise _unreachable(address, exc, hint) from exc
        with _versions_lock:
            _versions[address] = client.api.api_version
        client.api.timeout = timeout or API_TIMEOUT
        yield client
    finally:
        client.close()


def _unreachable(address: str, exc: BaseException, hint: str) -> JobError:
    msg = f"cannot reach the container engine at {address}: {explain(exc)} ({hint})"
    return JobError(msg, data={"exit_status": None, "output": [], "docker_host": address})


def ensure_image(client: docker.DockerClient, image: ImageRef, policy: str, address: str) -> None:
    """Make ``image`` present on the engine according to the pull ``policy``."""
    data = {"exit_status": None, "output": [], "docker_host": address, "image": image.reference}
    if policy != "always":
        try:
            client.images.get(image.reference)
            return
        except ImageNotFound:
            if policy == "never":
                msg = (f"image {image.reference} is not on the container engine at {address} "
                       "and parameters.pull is 'never'")
                raise JobError(msg, data=data) from None
        except (DockerException, requests.RequestException) as exc:
            msg = f"cannot look up image {image.reference} on the container engine at {address}: {explain(exc)}"
            raise JobError(msg, data=data) from exc
    pull(client, image, address, data)


def pull(client: docker.DockerClient, image: ImageRef, address: str, data: dict[str, Any]) -> None:
    """Pull ``image``, reading the whole progress stream.

    Engines report a failed pull inside the stream (Podman does so with HTTP 200
    and no exception), so every message is checked for an error.
    """
    prefix = f"cannot pull image {image.reference} (container engine at {address})"
    try:
        for message in client.api.pull(image.name, tag=image.pull_tag, stream=True, decode=True):
            if not isinstance(message, dict):
                continue
            detail = message.get("errorDetail")
            error = message.get("error") or (detail.get("message") if isinstance(detail, dict) else None)
            if error:
                msg = f"{prefix}: {error}"
                raise JobError(msg, data=data)
    except (DockerException, requests.RequestException) as exc:
        msg = f"{prefix}: {explain(exc)}"
        raise JobError(msg, data=data) from exc
    try:
        client.images.get(image.reference)
    except (DockerException, requests.RequestException) as exc:
        msg = f"{prefix}: the pull ended without error but the engine does not list the image ({explain(exc)})"
        raise JobError(msg, data=data) from exc
