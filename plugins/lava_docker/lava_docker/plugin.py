"""Entry point of lava-docker: registers the docker job type."""

from __future__ import annotations

from lava_core import hookimpl

from lava_docker.job import DockerJob


@hookimpl
def lava_register_job_types(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(DockerJob)
