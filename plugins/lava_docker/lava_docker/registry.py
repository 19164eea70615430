"""A docker job's connection: which engine to use and which registry to log in to before pulling.

The connection id is the job's ``docker`` parameter, else the realm record's
``docker`` field; with neither, the job uses the engine from ``docker_host`` or
the worker's environment and logs in nowhere (registry credentials are then the
worker user's own, from ``docker login``).
"""

from __future__ import annotations

from typing import Any

import docker
import requests
from attrs import define
from docker.errors import DockerException

from lava_core import JobError, RunContext
from lava_core.connections import ConnError, DockerConnection, docker_fields, load_connection

from lava_docker.engine import explain
from lava_docker.params import DockerParams


@define(frozen=True)
class DockerConn:
    """A loaded, enabled docker connection."""

    conn_id: str
    fields: DockerConnection


def docker_connection(run: RunContext, params: DockerParams) -> DockerConn | None:
    """The job's docker connection, or None when neither the job nor the realm names one.

    A connection that is missing, disabled, of another type or malformed fails the
    run (``Connection X: Not enabled``…) before the engine is contacted.
    """
    conn_id = params.docker or run.realm.docker
    if not conn_id:
        return None
    try:
        conn = load_connection(run.backend, conn_id, conn_type="docker")
        return DockerConn(conn_id, docker_fields(conn))
    except ConnError as exc:
        raise JobError(str(exc), data={"exit_status": None, "output": [], "conn_id": conn_id}) from None


def login(client: docker.DockerClient, conn: DockerConn, address: str) -> dict[str, Any] | None:
    """Log the client in to the connection's registry (if it names one); the engine checks the
    credentials with the registry now, and the client sends them with the pull that follows.

    A failure is a JobError naming the registry, the user and the connection, never the password.
    """
    fields = conn.fields
    if fields.registry is None:
        return None
    data = {"exit_status": None, "output": [], "docker_host": address, "conn_id": conn.conn_id,
            "registry": fields.registry, "user": fields.user}
    try:
        password = fields.password(conn.conn_id)
    except ConnError as exc:
        raise JobError(str(exc), data=data) from None
    what = (f"cannot log in to registry {fields.registry} as user {fields.user} "
            f"(connection {conn.conn_id}, container engine at {address})")
    try:
        return client.login(username=fields.user, password=password, email=fields.email,
                            registry=fields.registry, reauth=True)
    except (DockerException, requests.RequestException) as exc:
        reason = explain(exc).replace(password, "***")
        raise JobError(f"{what}: {reason}", data=data) from None
