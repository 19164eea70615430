"""Connections: named, typed records in the realm's connections table that jobs refer to by ``conn_id``.

lava keeps one item per connection (``conn_id``, ``type``, ``enabled``,
``description``, ``owner`` plus type-specific fields). Here every entry is
checked when it is stored (``lava conn put``) and again when a job loads it, and
every problem is reported with its path (``$.tls: expected true or false…``).

Secrets are never stored. lava stored the *name* of an SSM SecureString
parameter in ``password``; this lava has no parameter store, so a ``password``
field is refused and a connection names where the worker finds the secret
instead: ``password_env: NAME``, an environment variable of the worker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from attrs import define, field

from lava_core.convert import Duration, register_record, structure
from lava_core.errors import LavaError, SpecError

COMMON_FIELDS = ("conn_id", "type", "enabled", "description", "owner")
_CONN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Why a ``password`` field is refused (the text of the error).
WHY_NO_CLEAR_SECRET = " ".join((
    "a password is never stored in the connections table, which anyone who can read the realm can read",
    "(lava stored the name of an SSM parameter here; this lava has no parameter store):",
    "remove it and give password_env: NAME, an environment variable set on the workers"))


class ConnError(LavaError):
    """A connection that cannot be used: missing, disabled, of another type, or malformed."""


@define(frozen=True, kw_only=True)
class Connection:
    """The fields every connection has; the type-specific ones are kept as they are in ``extras``."""

    conn_id: str
    type: str
    enabled: bool = False
    description: str | None = None
    owner: str | None = None
    extras: dict[str, Any] = field(factory=dict)

    def to_item(self) -> dict[str, Any]:
        """The stored item: lava's flat layout, type-specific fields at the top level."""
        item: dict[str, Any] = {"conn_id": self.conn_id, "type": self.type, "enabled": self.enabled}
        for name in ("description", "owner"):
            if getattr(self, name) is not None:
                item[name] = getattr(self, name)
        return {**item, **self.extras}


@define(frozen=True, kw_only=True)
class DockerConnection:
    """The type-specific fields of a ``docker`` connection.

    ``server`` is the engine address (``tls`` for a ``tcp://`` one, ``timeout`` for each
    engine call); ``registry``, ``user`` and the password from ``password_env`` are used
    to log in to the registry before the image is pulled.
    """

    registry: str | None = None
    user: str | None = None
    password_env: str | None = None
    email: str | None = None
    server: str | None = None
    tls: bool = True
    timeout: Duration | None = None

    def password(self, conn_id: str) -> str:
        """The registry password, from the worker's environment."""
        if self.password_env is None:
            msg = f"Connection {conn_id}: no password_env to take the registry password from"
            raise ConnError(msg)
        value = os.environ.get(self.password_env)
        if not value:
            msg = f"Connection {conn_id}: the worker has no environment variable {self.password_env} (password_env)"
            raise ConnError(msg)
        return value


register_record(Connection)
register_record(DockerConnection)


def _check_docker(fields: dict[str, Any]) -> list[str]:
    try:
        docker = structure(fields, DockerConnection)
    except SpecError as exc:
        return exc.problems
    problems = []
    if docker.password_env is not None and not _ENV_NAME.fullmatch(docker.password_env):
        problems.append(f"$.password_env: expected an environment variable name, got {docker.password_env!r}")
    if docker.registry is not None:
        if docker.registry == "ecr" or docker.registry.startswith("ecr:"):
            problems.append(f"$.registry: {docker.registry!r}: ECR login is not supported; give the registry's "
                            "address, a user and password_env")
        for name in ("user", "password_env"):
            if getattr(docker, name) is None:
                problems.append(f"$.{name}: required to log in to registry {docker.registry!r}")
    elif docker.user is not None or docker.password_env is not None:
        problems.append("$.registry: required with user and password_env (the registry to log in to)")
    if docker.server is not None and not docker.server.strip():
        problems.append("$.server: empty engine address")
    if docker.timeout is not None and docker.timeout <= 0:
        problems.append(f"$.timeout: must be more than 0, got {docker.timeout.text!r}")
    return problems


# Type-specific checks of the fields outside COMMON_FIELDS; types without one keep any field.
TYPE_CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {"docker": _check_docker}


def check_connection(data: Any, *, source: str | None = None) -> Connection:
    """A connection entry as a record, or a SpecError naming every bad field with its path."""
    if not isinstance(data, dict):
        raise SpecError([f"$: expected a map (a connection), got {type(data).__name__}"], source=source)
    problems = []
    common = {k: v for k, v in data.items() if k in COMMON_FIELDS}
    rest = {k: v for k, v in data.items() if k not in COMMON_FIELDS}
    conn = None
    try:
        conn = structure({**common, "extras": rest}, Connection)
    except SpecError as exc:
        problems += exc.problems
    conn_id = data.get("conn_id")
    if isinstance(conn_id, str) and not _CONN_ID.fullmatch(conn_id):
        problems.append(f"$.conn_id: expected letters, digits and _ . : / @ + - (not first), got {conn_id!r}")
    if "password" in rest:
        problems.append(f"$.password: {WHY_NO_CLEAR_SECRET}")
        rest = {k: v for k, v in rest.items() if k != "password"}
    check = TYPE_CHECKS.get(data["type"]) if isinstance(data.get("type"), str) else None
    if check is not None:
        problems += check({k: v for k, v in rest.items() if not k.startswith(("x-", "X-"))})
    if problems or conn is None:
        raise SpecError(problems, source=source, job_id=conn_id if isinstance(conn_id, str) else None)
    return conn


def load_connection(backend: Any, conn_id: str, *, conn_type: str | None = None) -> Connection:
    """The stored connection ``conn_id``, checked as at ``lava conn put``; it must be enabled (and of
    ``conn_type`` if given). Raises :class:`ConnError` saying why not."""
    data = backend.get_connection(conn_id)
    if data is None:
        msg = f"Connection {conn_id}: not in the realm's connections table (store it with `lava conn put FILE`)"
        raise ConnError(msg)
    try:
        conn = check_connection(data)
    except SpecError as exc:
        msg = f"Connection {conn_id}: " + "; ".join(exc.problems)
        raise ConnError(msg) from None
    if not conn.enabled:
        msg = f"Connection {conn_id}: Not enabled"
        raise ConnError(msg)
    if conn_type is not None and conn.type != conn_type:
        msg = f"Connection {conn_id}: is of type {conn.type!r}, expected {conn_type!r}"
        raise ConnError(msg)
    return conn


def docker_fields(conn: Connection) -> DockerConnection:
    """The docker-specific fields of a (checked) docker connection."""
    return structure({k: v for k, v in conn.extras.items() if not k.startswith(("x-", "X-"))}, DockerConnection)
