"""Entry point of lava-dispatch: registers the dispatch job type and the dispatch action."""

from __future__ import annotations

from lava_core import hookimpl

from lava_dispatch.action import DispatchAction
from lava_dispatch.job import DispatchJob


@hookimpl
def lava_register_job_types(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(DispatchJob)


@hookimpl
def lava_register_actions(register) -> None:  # noqa: ANN001 - as above
    register(DispatchAction)
