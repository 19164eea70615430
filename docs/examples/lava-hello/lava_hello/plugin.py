"""The ``hello`` job type: greet the name given as the job's payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from lava_core import Job, JobType, RunContext, hookimpl


@attrs.define(frozen=True, kw_only=True)
class HelloParams:
    """The parameters a hello job accepts (any other key is refused)."""

    greeting: str = "Hello"


class HelloJob(JobType):
    """Payload: the name to greet, a string rendered with Jinja."""

    type_name = "hello"
    Params = HelloParams

    def validate(self, job: Job, params: HelloParams) -> list[str]:  # noqa: ARG002 - part of the JobType contract
        if isinstance(job.payload, str) and job.payload.strip():
            return []
        return ["$.payload: hello needs a name string"]

    def run(self, run: RunContext, params: HelloParams) -> dict[str, Any]:
        name = run.render(run.job.payload, where="payload")
        text = f"{params.greeting}, {name}!\n"
        uri = run.save_output("stdout", text.encode())
        return {"exit_status": 0, "message": text.strip(), "output": [{"stdout": uri}]}


@hookimpl
def lava_register_job_types(register: Callable[[type], None]) -> None:
    register(HelloJob)
