"""The cmd job type: run the payload as a command on the worker."""

from __future__ import annotations

import shlex
from typing import Any

from attrs import define, field

from lava_core import Duration, Job, JobType, RunContext

from lava_cmd.process import build_env, run_and_capture

DEFAULT_TIMEOUT = "10m"


@define(frozen=True, kw_only=True)
class CmdParams:
    """Parameters of a cmd job."""

    args: list[Any] = field(factory=list)
    env: dict[str, Any] = field(factory=dict)
    timeout: Duration | None = None
    jinja: bool = True
    vars: dict[str, Any] = field(factory=dict)


class CmdJob(JobType):
    """Payload: a string run by ``/bin/sh -c``, or a list run as argv (no shell).

    Jinja renders the string (or each list element), each ``args`` element, and
    each ``env`` value. ``args`` are appended: shell-quoted for a string payload,
    as extra argv elements for a list payload.
    """

    type_name = "cmd"
    Params = CmdParams

    def validate(self, job: Job, params: CmdParams) -> list[str]:  # noqa: ARG002 - part of the JobType contract
        payload = job.payload
        if isinstance(payload, str) and payload.strip():
            return []
        if isinstance(payload, list) and payload and all(isinstance(p, str | int | float) for p in payload):
            return []
        return [f"$.payload: cmd needs a command string or a non-empty argv list, got {payload!r}"]

    def run(self, run: RunContext, params: CmdParams) -> dict[str, Any]:
        extra = {"vars": params.vars}
        args = run.render_args(params.args, jinja=params.jinja, where="parameters.args", **extra)
        payload = run.job.payload
        if isinstance(payload, str):
            command = run.render(payload, where="payload", **extra) if params.jinja else payload
            argv = ["/bin/sh", "-c", " ".join([command, *(shlex.quote(a) for a in args)])]
        else:
            argv = run.render_args(payload, jinja=params.jinja, where="payload", **extra) + args
        timeout = timeout_of(run, params, "CMD_TIMEOUT")
        env = build_env(run, params.env, jinja=params.jinja, **extra)
        label = payload if isinstance(payload, str) else " ".join(map(str, payload))
        return run_and_capture(run, argv, env=env, timeout=timeout, cwd=run.workdir, label=label)


def timeout_of(run: RunContext, params: Any, setting: str) -> float:
    """The job's ``timeout``, else the worker setting (``CMD_TIMEOUT``…), else 10m."""
    if params.timeout is not None:
        return float(params.timeout)
    return float(Duration(run.setting(setting, DEFAULT_TIMEOUT)))
