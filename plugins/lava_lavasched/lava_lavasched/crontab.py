"""Building lava's crontab block: which jobs go in, and the line each schedule entry becomes.

A job is considered when its top-level ``dispatcher`` is one of the names and
its ``schedule`` is not empty. Jobs whose ``enabled`` is false without a
template (or missing: it defaults to false) are skipped and reported; lava
writes them anyway and each fire then records a ``skipped`` run. A
templated ``enabled`` is decided when the run starts, so such jobs are kept.

:func:`build` (and :func:`build_block`, its text only, which
``bench/schedule.py`` times) is the whole build without cron; reading and
installing the crontab is :mod:`lava_lavasched.job`'s part.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from attrs import define, field

from lava_core import SpecError
from lava_core.schedule import ScheduleEntry, parse_schedule

from lava_lavasched.crontext import END, MAX_LINE, START, CrontabError, command, cron_syntax_problem, env_line
from lava_lavasched.host import default_log, default_path, lava_command

if TYPE_CHECKING:
    from lava_core.backend import Backend


class ScheduleProblems(CrontabError):
    """Schedules that cannot become crontab lines; ``problems`` lists each as ``job ID: $.path: why``."""

    def __init__(self, problems: list[str], names: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the schedules for dispatcher(s) {', '.join(names)}; "
                         "the crontab was left unchanged:\n" + "\n".join(problems))


@define(kw_only=True)
class Plan:
    """The entry lines of the managed block, what was left out (and why), and every problem found."""

    lines: list[str] = field(factory=list)
    jobs: int = 0
    skipped: list[dict[str, Any]] = field(factory=list)
    problems: list[str] = field(factory=list)


def build_block(backend: Backend, names: list[str], *, env: dict[str, str], args: list[str], zone: ZoneInfo,
                log: str | None = None, job_id: str = "lavasched", now: datetime | None = None) -> str:
    """The managed block (markers included, newline-terminated) for the dispatcher ``names``."""
    return build(backend, names, env=env, args=args, zone=zone, log=log, job_id=job_id, now=now)[0]


def build(backend: Backend, names: list[str], *, env: dict[str, str], args: list[str], zone: ZoneInfo,
          log: str | None = None, job_id: str = "lavasched", now: datetime | None = None) -> tuple[str, Plan]:
    """The block's text and the plan behind it; ScheduleProblems when any schedule cannot be written.

    ``env`` is written as given (sorted), plus ``LAVA_REALM`` (the realm as
    ``--realm`` takes it, made absolute) and ``PATH`` unless it sets one. Naive
    window bounds are read in ``zone``; windows are judged at ``now``.
    """
    names = sorted(set(names))
    variables = {**env, "LAVA_REALM": realm_spec(backend)}
    variables.setdefault("PATH", default_path())
    lines = []
    for name, value in sorted(variables.items()):
        try:
            lines.append(env_line(name, value))
        except CrontabError as exc:
            msg = f"cannot write the crontab variable {name}: {exc}"
            raise CrontabError(msg) from None
    specs = [spec for name in names for spec in backend.jobs_of_dispatcher(name)]
    result = plan(specs, names, now=now or datetime.now(UTC), zone=zone, lava=lava_command(),
                  args=args, log=log or default_log())
    if result.problems:
        raise ScheduleProblems(result.problems, names)
    block = [START, f"# Written by lava lavasched job {job_id} for dispatcher(s) {', '.join(names)}; "
                    "lines up to the end marker are replaced on every run.", *lines, *result.lines, END]
    return "".join(f"{line}\n" for line in block), result


def realm_spec(backend: Backend) -> str:
    """The realm as ``--realm`` takes it; a local folder made absolute (cron starts in the home folder)."""
    spec = backend.describe()
    return spec if spec.startswith("aws://") else str(Path(spec).absolute())


def static_enabled(value: Any) -> bool | None:
    """True/False when ``enabled`` is fixed in the spec, None when a template decides it at run time."""
    if value is True:
        return True
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return None if "{" in value else value.strip().lower() == "true"
    return False  # any other type is an invalid spec: its runs would be rejected


def plan(specs: list[dict[str, Any]], names: list[str], *, now: datetime, zone: ZoneInfo, lava: list[str],
         args: list[str], log: str) -> Plan:
    """Lines for every schedule entry of every matching job, in dispatcher-name then job-id order."""
    result = Plan()
    wanted = sorted(set(names))
    by_name: dict[str, list[dict[str, Any]]] = {name: [] for name in wanted}
    for spec in specs:
        name = spec.get("dispatcher")
        if isinstance(name, str) and name in by_name and spec.get("schedule") not in (None, "", []):
            by_name[name].append(spec)
    for name in wanted:
        for spec in sorted(by_name[name], key=lambda s: str(s.get("job_id"))):
            _add_job(result, spec, now=now, zone=zone, lava=lava, args=args, log=log)
    return result


def _add_job(result: Plan, spec: dict[str, Any], *, now: datetime, zone: ZoneInfo, lava: list[str],
             args: list[str], log: str) -> None:
    job_id = str(spec.get("job_id"))
    enabled = spec.get("enabled", False)
    if static_enabled(enabled) is False:
        shown = "missing (defaults to false)" if "enabled" not in spec else repr(enabled)
        result.skipped.append({"job_id": job_id, "reason": f"not enabled (enabled: {shown})"})
        return
    schedule = spec["schedule"]
    problems: list[str] = []
    worker = spec.get("worker")
    if not isinstance(worker, str) or not worker:
        problems.append(f"$.worker: a fleet name is needed to dispatch the job, got {worker!r}")
    try:
        entries = parse_schedule(schedule, zone)
    except SpecError as exc:
        problems += exc.problems
        entries = []
    lines = []
    for entry in entries:
        path = f"$.schedule[{entry.index}]" if isinstance(schedule, list) else "$.schedule"
        why = cron_syntax_problem(entry.crontab)
        if why:
            problems.append(f"{path}.crontab: {entry.crontab!r} {why}")
            continue
        if not entry.active(now):
            result.skipped.append({"job_id": job_id, "entry": entry.index,
                                   "reason": f"outside its window at build time ({_window(entry)})"})
            continue
        if isinstance(worker, str) and worker:
            try:
                text = command([*lava, "dispatch", "--worker", worker, *args, job_id], log)
            except CrontabError as exc:
                problems.append(f"$.schedule: the dispatch command cannot be written: {exc}")
                continue
            if len(text.encode()) > MAX_LINE:
                problems.append(f"$.schedule: the dispatch command would be {len(text.encode())} bytes; cron "
                                f"takes at most {MAX_LINE} (shorten the job id, args or log path)")
                continue
            lines.append(f"{entry.crontab} {text}")
    if problems:
        result.problems += [f"job {job_id}: {p}" for p in problems]
        return
    if lines:
        result.jobs += 1
        result.lines += lines


def _window(entry: ScheduleEntry) -> str:
    if entry.start and entry.end and entry.start > entry.end:
        return f"excluded between {entry.end.isoformat()} and {entry.start.isoformat()}"
    start = entry.start.isoformat() if entry.start else "any time"
    end = entry.end.isoformat() if entry.end else "any time"
    return f"from {start} to {end}"
