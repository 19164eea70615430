"""What goes into the container: the rendered command, the environment, the name and labels."""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from lava_core import RunContext
from lava_core.render import split_words

from lava_docker.params import DockerParams

_HOSTNAME_BAD = re.compile(r"[^A-Za-z0-9-]+")
HOSTNAME_MAX = 63

# Passed from the worker's environment when set, so AWS SDKs in the container find their region.
PASSED_THROUGH = ("AWS_DEFAULT_REGION", "AWS_REGION")


def container_command(run: RunContext, params: DockerParams, extra: dict[str, Any]) -> list[str] | None:
    """The container's command: ``command`` words then ``args``, each rendered on its own.

    ``None`` (neither given) keeps the image's default command. ``args`` alone
    replace the default command, as ``docker run IMAGE ARGS…`` does, so they reach
    an image's entrypoint.
    """
    words: list[Any] = []
    if isinstance(params.command, str):
        words = split_words(params.command)
    elif isinstance(params.command, list):
        words = list(params.command)
    argv = run.render_args(words, jinja=params.jinja, where="parameters.command", **extra)
    argv += run.render_args(params.args, jinja=params.jinja, where="parameters.args", **extra)
    return argv or None


def container_env(run: RunContext, params: DockerParams, extra: dict[str, Any]) -> dict[str, str]:
    """The worker's ``LAVA_*`` variables < AWS region < job ``env`` (rendered) < lava's own variables.

    Only ``LAVA_*`` variables come from the worker, as in lava: the container does
    not inherit the worker's whole environment. ``LAVA_TMP`` is the run folder,
    mounted at the same path inside the container.
    """
    base = run.services.base_env
    env = {key: value for key, value in base.items() if key.startswith("LAVA_")}
    env.update({key: base[key] for key in PASSED_THROUGH if key in base})
    for key, value in params.env.items():
        text = "" if value is None else str(value)
        env[key] = run.render(text, where=f"parameters.env.{key}", **extra) if params.jinja else text
    env.update(run.lava_env())
    env["LAVA_TMP"] = str(run.workdir)
    return env


def container_hostname(run: RunContext) -> str:
    """``lava-<realm>-<worker>-<run_id>``, cut to a valid host name (63 characters, letters, digits, -)."""
    run_id = _HOSTNAME_BAD.sub("-", run.run_id)[:HOSTNAME_MAX - 6]
    prefix = _HOSTNAME_BAD.sub("-", f"lava-{run.realm.realm}-{run.worker}")
    return f"{prefix[:HOSTNAME_MAX - len(run_id) - 1]}-{run_id}".strip("-")


def container_labels(run: RunContext) -> dict[str, str]:
    """Labels that tie a container to its run and to the worker process that owns it."""
    return {"lava.realm": run.realm.realm, "lava.worker": run.worker, "lava.owner": run.job.owner or "",
            "lava.job_id": run.job.job_id, "lava.run_id": run.run_id, "lava.host": socket.gethostname(),
            "lava.pid": str(os.getpid())}
