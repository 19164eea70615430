"""The docker job type: run the payload's image as one container per attempt."""

from __future__ import annotations

import os
from typing import Any

from lava_core import Duration, Job, JobType, RunContext

from lava_docker.command import container_command, container_env, container_hostname, container_labels
from lava_docker.container import ContainerSpec, run_container
from lava_docker.engine import connect, engine_address, ensure_image
from lava_docker.params import DockerParams, check_params, image_source, parse_image
from lava_docker.registry import docker_connection, login

DEFAULT_TIMEOUT = "10m"
# Network modes that share another namespace's host name, where setting one is an error.
_SHARED_UTS = ("host", "container:")


class DockerJob(JobType):
    """Payload: an image reference (``repository[:tag]``, registry ports allowed).

    Runs the image's default command, or ``command`` plus ``args`` (each word
    rendered on its own), with the run folder mounted read-write at the same path
    and as the working directory. stdout and stderr are stored separately; the
    container is removed afterwards in every case. A docker connection (the
    ``docker`` parameter, else the realm's ``docker``) may give the engine and a
    registry to log in to before the pull.
    """

    type_name = "docker"
    Params = DockerParams

    def validate(self, job: Job, params: DockerParams) -> list[str]:
        return check_params(job, params)

    def run(self, run: RunContext, params: DockerParams) -> dict[str, Any]:
        _, text = image_source(run.job, params)
        image = parse_image(text)
        extra = {"vars": params.vars}
        command = container_command(run, params, extra)
        env = container_env(run, params, extra)
        conn = docker_connection(run, params)
        server = conn.fields.server if conn is not None else None
        address = engine_address(run, params, server)
        spec = ContainerSpec(address=address, image=image.reference, label=text,
                             create=create_options(run, params, command, env), timeout=timeout_of(run, params))
        options: dict[str, Any] = {}
        if conn is not None:
            options["timeout"] = conn.fields.timeout
            if server is not None and address == server.strip():
                options.update(tls=conn.fields.tls, hint=f"the server of docker connection {conn.conn_id}")
        with connect(address, **options) as client:
            if conn is not None:
                login(client, conn, address)
            ensure_image(client, image, params.pull, address)
            return run_container(run, client, spec)


def create_options(run: RunContext, params: DockerParams, command: list[str] | None,
                   env: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for the SDK's ``containers.create``: lava's defaults, then ``host_config``.

    Defaults as in lava: the run folder as working directory, the worker's uid with its
    gid added (files the job writes in the run folder stay the worker's to clean up),
    and the host name ``lava-<realm>-<worker>-<run_id>``.
    """
    workdir = str(run.workdir)
    options: dict[str, Any] = {
        "working_dir": workdir,
        "user": str(os.geteuid()),
        "group_add": [str(os.getegid())],
        "hostname": container_hostname(run),
    }
    options.update(params.host_config)
    network_mode = str(options.get("network_mode") or "")
    if network_mode.startswith(_SHARED_UTS) and "hostname" not in params.host_config:
        del options["hostname"]
    options.update(
        command=command,
        environment=env,
        labels=container_labels(run),
        volumes={workdir: {"bind": workdir, "mode": "rw"}},
        stdin_open=False,
        tty=False,
    )
    return options


def timeout_of(run: RunContext, params: DockerParams) -> float:
    """The job's ``timeout``, else the ``DOCKER_TIMEOUT`` setting, else 10m."""
    if params.timeout is not None:
        return float(params.timeout)
    return float(Duration(run.setting("DOCKER_TIMEOUT", DEFAULT_TIMEOUT)))
