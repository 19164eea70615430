"""What cmd (and later exe/pkg) share: argv and env rendering, output capture, outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lava_core import JobError, RunContext
from lava_core.procs import TIMEOUT_EXIT_STATUS, run_process

STDERR_TAIL = 2000


def build_env(run: RunContext, env: dict[str, Any], *, jinja: bool, **extra: Any) -> dict[str, str]:
    """Worker env < job ``env`` (rendered) < lava's own ``LAVA_*`` variables.

    ``TMPDIR`` is the run's scratch folder (lava's JOB_LOCAL_TMPDIR) unless the
    job's ``env`` sets it. Unlike lava, ``jinja: false`` keeps the job's env
    (unrendered) instead of dropping it.
    """
    merged = {**run.services.base_env, "TMPDIR": str(run.workdir)}
    for key, value in env.items():
        text = "" if value is None else str(value)
        merged[key] = run.render(text, where=f"parameters.env.{key}", **extra) if jinja else text
    merged.update(run.lava_env())
    return merged


def run_and_capture(run: RunContext, argv: list[str], *, env: dict[str, str], timeout: float, cwd: Path,
                    label: str, output_prefix: str = "") -> dict[str, Any]:
    """Run ``argv``, store its stdout/stderr (when non-empty) and return lava's output entry.

    Raises JobError carrying the partial result on a non-zero exit or a timeout.
    """
    try:
        outcome = run_process(argv, cwd=cwd, env=env, timeout=timeout, spill_dir=run.workdir,
                              registry=run.services.processes, spill_prefix=output_prefix)
    except FileNotFoundError as exc:
        msg = f"cannot run {argv[0]!r}: no such file or command"
        raise JobError(msg, data={"exit_status": 127, "output": []}) from exc
    except PermissionError as exc:
        msg = f"cannot run {argv[0]!r}: permission denied"
        raise JobError(msg, data={"exit_status": 126, "output": []}) from exc
    except OSError as exc:
        msg = f"cannot run {argv[0]!r}: {exc.strerror} (a script needs a #! line and LF line ends)"
        raise JobError(msg, data={"exit_status": 126, "output": []}) from exc
    entry: dict[str, Any] = {"payload": label, "exit_status": outcome.exit_status}
    for stream, capture in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        if capture.size:
            entry[stream] = run.save_output(f"{output_prefix}{stream}", capture.getvalue())
        if capture.spilled:
            capture.spill_path.unlink(missing_ok=True)
    stderr_tail = outcome.stderr.tail(STDERR_TAIL).decode("utf-8", errors="replace").strip() or None
    result = {"exit_status": outcome.exit_status, "output": [entry]}
    if outcome.timed_out:
        msg = f"Timed out after {timeout:g} seconds"
        raise JobError(msg, data={**result, "exit_status": TIMEOUT_EXIT_STATUS, "error": stderr_tail})
    if outcome.exit_status != 0:
        msg = f"Failed with exit status {outcome.exit_status}"
        raise JobError(msg, data={**result, "error": stderr_tail})
    return result


__all__ = ["build_env", "run_and_capture"]
