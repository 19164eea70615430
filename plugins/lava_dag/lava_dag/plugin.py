"""Entry point of lava-dag: registers its job types."""

from __future__ import annotations

from lava_core import hookimpl

from lava_dag.chain import ChainJob
from lava_dag.dag import DagJob
from lava_dag.foreach import ForeachJob


@hookimpl
def lava_register_job_types(register) -> None:  # noqa: ANN001 - the registrar type is the core's private alias
    register(ChainJob)
    register(DagJob)
    register(ForeachJob)
