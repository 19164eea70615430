"""Entry point of lava-triggers: registers the s3trigger and dispatch-helper trigger sources."""

from __future__ import annotations

from lava_core import hookimpl

from lava_triggers.helper import DispatchHelperSource
from lava_triggers.s3match import S3TriggerSource


@hookimpl
def lava_register_triggers(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(S3TriggerSource)
    register(DispatchHelperSource)
