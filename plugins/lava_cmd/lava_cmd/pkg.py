"""The pkg job type: unpack a code bundle from the payload area and run a command inside it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from attrs import define

from lava_core import Job, JobError, JobType, RunContext

from lava_cmd.bundles import is_bundle, unpack
from lava_cmd.cmd import CmdParams, timeout_of
from lava_cmd.payloads import fetch, payload_location, resolve_payload
from lava_core.render import split_words

from lava_cmd.process import build_env, run_and_capture


@define(frozen=True, kw_only=True)
class PkgParams(CmdParams):
    """Parameters of a pkg job: cmd's, plus the ``command`` to run inside the bundle."""

    command: str


class PkgJob(JobType):
    """Payload: a bundle object (``.zip``, ``.tar``, ``.tar.gz``…) or a prefix ``folder/``
    of files. It is unpacked into ``<run folder>/pkg`` and ``command`` runs there:
    its first word is a path inside the bundle (made executable, not rendered);
    the other words and ``args`` are rendered. Outputs: ``<bundle>.stdout|.stderr``.
    """

    type_name = "pkg"
    Params = PkgParams

    def validate(self, job: Job, params: PkgParams) -> list[str]:
        problems = []
        if not isinstance(job.payload, str) or not job.payload.strip():
            problems.append(f"$.payload: pkg needs a bundle object or a 'folder/' prefix, got {job.payload!r}")
        elif not job.payload.endswith("/") and not is_bundle(job.payload):
            problems.append(f"$.payload: don't know how to unpack {job.payload!r} (.zip, .tar, .tar.gz, .tgz, "
                            ".tar.bz2, .tar.xz, or a 'folder/' prefix)")
        if not split_words(params.command):
            problems.append("$.parameters.command: empty command")
        return problems

    def run(self, run: RunContext, params: PkgParams) -> dict[str, Any]:
        extra = {"vars": params.vars}
        name = run.job.payload
        folder = run.workdir / "pkg"
        if name.endswith("/"):
            for obj in resolve_payload(run, name, single=False):
                fetch(run, obj, folder, executable=False)
        else:
            (obj,) = resolve_payload(run, name, single=True)
            unpack(name, run.backend.get_payload(obj) or b"", folder)
        program, *words = split_words(params.command)
        executable = (folder / program).resolve()
        if not executable.is_relative_to(folder.resolve()) or not executable.is_file():
            msg = f"command {program!r} is not a file inside the bundle"
            raise JobError(msg, data={"exit_status": 1, "output": []})
        executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
        args = run.render_args([*words, *params.args], jinja=params.jinja, where="parameters.command", **extra)
        env = build_env(run, params.env, jinja=params.jinja, **extra)
        env["LAVA_S3_PAYLOAD"] = payload_location(run, name)
        label = Path(name.rstrip("/")).name
        return run_and_capture(run, [str(executable), *args], env=env, timeout=timeout_of(run, params, "PKG_TIMEOUT"),
                               cwd=folder, label=label, output_prefix=f"{label}.")
