"""Full validation of a job spec against the installed plugins (types, parameters, actions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lava_core.convert import structure
from lava_core.errors import PluginError, SpecError
from lava_core.schedule import local_zone, parse_schedule
from lava_core.records import ACTION_KEYS, Job, load_job

if TYPE_CHECKING:
    from lava_core.plugins import PluginHost


def job_params(host: PluginHost, job: Job) -> Any:
    """The job's parameters structured into its type's ``Params`` (errors under ``$.parameters``)."""
    job_type = host.job_type(job.type)
    return structure(job.parameters, job_type.Params, root="$.parameters")


def check_job(host: PluginHost, job: Job) -> list[str]:
    """Problems that need the plugins to find: unknown type, bad parameters, bad actions."""
    problems: list[str] = []
    try:
        job_type = host.job_type(job.type)
    except PluginError as exc:
        return [f"$.type: {exc}"]
    try:
        params = job_params(host, job)
    except SpecError as exc:
        problems += exc.problems
    else:
        problems += job_type.validate(job, params)
    for key in ACTION_KEYS:
        problems += check_actions(host, getattr(job, key) or [], f"$.{key}")
    try:
        # Naive window bounds are read in this host's zone here; a dispatcher reads them in its own.
        parse_schedule(job.schedule, local_zone())
    except SpecError as exc:
        problems += exc.problems
    return problems


def check_actions(host: PluginHost, actions: list[dict[str, Any]], root: str) -> list[str]:
    problems = []
    for index, action in enumerate(actions):
        path = f"{root}[{index}]"
        name = action.get("action")
        if name is None:
            continue  # reported by the record check as a missing field
        try:
            action_type = host.action(name)
        except PluginError as exc:
            problems.append(f"{path}.action: {exc}")
            continue
        fields = {k: v for k, v in action.items() if k != "action"}
        try:
            structure(fields, action_type.Fields, root=path)
        except SpecError as exc:
            problems += exc.problems
    return problems


def validate_spec(host: PluginHost, data: object, *, source: str | None = None) -> Job:
    """Load and fully check one job spec; raises SpecError listing every problem.

    When the top level is already wrong, the parameters and actions are still
    checked so that one run of ``lava job validate`` shows everything.
    """
    try:
        job = load_job(data, source=source)
    except SpecError as exc:
        extra = _check_raw(host, data) if isinstance(data, dict) else []
        if not extra:
            raise
        raise SpecError(exc.problems + [p for p in extra if p not in exc.problems], source=source,
                        job_id=exc.job_id) from exc
    problems = check_job(host, job)
    if problems:
        raise SpecError(problems, source=source, job_id=job.job_id)
    return job


def _check_raw(host: PluginHost, data: dict[str, Any]) -> list[str]:
    """Plugin-level checks on a spec whose top level did not structure."""
    problems: list[str] = []
    type_name, params = data.get("type"), data.get("parameters", {})
    if isinstance(type_name, str) and type_name in host.job_types and isinstance(params, dict):
        try:
            structure(params, host.job_types[type_name].Params, root="$.parameters")
        except SpecError as exc:
            problems += exc.problems
    for key in ACTION_KEYS:
        actions = data.get(key)
        if isinstance(actions, list) and all(isinstance(a, dict) for a in actions):
            problems += check_actions(host, actions, f"$.{key}")
    return problems
