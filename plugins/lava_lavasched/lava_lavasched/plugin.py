"""Entry point of lava-lavasched: registers the lavasched job type."""

from __future__ import annotations

from lava_core import hookimpl

from lava_lavasched.job import LavaschedJob


@hookimpl
def lava_register_job_types(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(LavaschedJob)
