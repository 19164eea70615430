"""The exe job type: fetch an executable from the payload area and run it."""

from __future__ import annotations

from typing import Any

from lava_core import Job, JobType, RunContext

from lava_cmd.cmd import CmdParams, timeout_of
from lava_cmd.payloads import fetch, payload_location, resolve_payload
from lava_core.render import split_words

from lava_cmd.process import build_env, run_and_capture


class ExeJob(JobType):
    """Payload: ``"<object or prefix/> [args…]"``. The object (or the single object
    under the prefix) is fetched into the run folder, made executable and run with
    the payload's extra tokens and ``args`` (each Jinja-rendered), ``env`` and
    ``timeout``. Outputs are stored as ``<file>.stdout`` / ``<file>.stderr``.
    """

    type_name = "exe"
    Params = CmdParams

    def validate(self, job: Job, params: CmdParams) -> list[str]:  # noqa: ARG002 - part of the JobType contract
        if not isinstance(job.payload, str) or not job.payload.strip():
            return [f"$.payload: exe needs a string '<payload object> [args...]', got {job.payload!r}"]
        return []

    def run(self, run: RunContext, params: CmdParams) -> dict[str, Any]:
        extra = {"vars": params.vars}
        name, *payload_args = split_words(run.job.payload)
        (obj,) = resolve_payload(run, name, single=True)
        path = fetch(run, obj, run.workdir, executable=True)
        args = run.render_args([*payload_args, *params.args], jinja=params.jinja, where="parameters.args", **extra)
        env = build_env(run, params.env, jinja=params.jinja, **extra)
        env["LAVA_S3_PAYLOAD"] = payload_location(run, name)
        return run_and_capture(run, [str(path), *args], env=env, timeout=timeout_of(run, params, "EXE_TIMEOUT"),
                               cwd=run.workdir, label=path.name, output_prefix=f"{path.name}.")
