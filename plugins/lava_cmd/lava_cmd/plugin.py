"""Entry point of lava-cmd: registers its job types."""

from __future__ import annotations

from lava_core import hookimpl

from lava_cmd.cmd import CmdJob
from lava_cmd.exe import ExeJob
from lava_cmd.pkg import PkgJob


@hookimpl
def lava_register_job_types(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(CmdJob)
    register(ExeJob)
    register(PkgJob)
