"""Fetching payloads from the realm's payload area into a run's folder, safely.

Each file is written under a temporary name, fsynced, closed, made executable
and only then renamed into place, and no process is forked while it is open for
writing (see :class:`lava_core.procs.SpawnGuard`): lava's "Text file busy" race
cannot happen, and there is no settling sleep.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lava_core import JobError, RunContext
from lava_core.procs import SPAWN_GUARD


def payload_location(run: RunContext, name: str) -> str:
    return f"{run.realm.s3_payloads.rstrip('/')}/{name}"


def resolve_payload(run: RunContext, name: str, *, single: bool) -> list[str]:
    """Object names a payload refers to: ``name`` itself, or the objects directly under ``name/``.

    ``single`` requires exactly one object (exe). A prefix with nested folders is
    refused, as lava's "Recursive download not supported".
    """
    where = payload_location(run, name)
    if not name.endswith("/"):
        if run.backend.get_payload(name) is None:
            msg = f"No payload files downloaded from {where}"
            raise JobError(msg, data={"exit_status": 1, "output": []})
        return [name]
    objects = [n for n, _ in run.backend.list_payloads(name)]
    nested = sorted({n[len(name):].split("/", 1)[0] for n in objects if "/" in n[len(name):]})
    if nested:
        msg = f"{where}: Recursive download not supported (sub-folders: {', '.join(nested)})"
        raise JobError(msg, data={"exit_status": 1, "output": []})
    if not objects:
        msg = f"No payload files downloaded from {where}"
        raise JobError(msg, data={"exit_status": 1, "output": []})
    if single and len(objects) > 1:
        msg = f"{where} holds {len(objects)} objects ({', '.join(objects)}); name exactly one"
        raise JobError(msg, data={"exit_status": 1, "output": []})
    return objects


def fetch(run: RunContext, name: str, folder: Path, *, executable: bool) -> Path:
    """Write payload ``name`` into ``folder`` (temp name, fsync, chmod, rename) and return its path."""
    data = run.backend.get_payload(name)
    if data is None:
        msg = f"No payload files downloaded from {payload_location(run, name)}"
        raise JobError(msg, data={"exit_status": 1, "output": []})
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / Path(name).name
    tmp = folder / f".{final.name}.part"
    with SPAWN_GUARD.writing():  # no child may be forked while the file is open for writing
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    if executable:
        tmp.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    tmp.replace(final)
    return final
