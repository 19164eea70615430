"""The lavasched job type: build the dispatcher host's crontab from the schedules in the realm."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from attrs import define, field

from lava_core import Job, JobError, JobType, RunContext, SpecError
from lava_core.schedule import local_zone, zone_named

from lava_lavasched.crontab import ScheduleProblems, build
from lava_lavasched.crontext import END, CrontabError, cron_word, diff, env_line, env_name_problem, splice
from lava_lavasched.host import (
    Crontab,
    CronTzSupport,
    crontab_lock,
    cron_tz_support,
    dispatch_args_problem,
    host_zone_name,
    is_host_zone,
    lava_command,
)

# Texts longer than this are cut in the event's result (the outputs keep them whole):
# an events item has a size limit (400 KB on DynamoDB).
RESULT_TEXT_LIMIT = 16_000
RESULT_SKIPPED_LIMIT = 100
RESERVED_ENV = ("LAVA_REALM",)


@define(frozen=True, kw_only=True)
class LavaschedParams:
    """Parameters of a lavasched job."""

    dispatcher: str | list[str]
    args: list[str] = field(factory=list)
    env: dict[str, str | int | float] = field(factory=dict)
    log: str | None = None

    @property
    def names(self) -> list[str]:
        return [self.dispatcher] if isinstance(self.dispatcher, str) else list(self.dispatcher)


class LavaschedJob(JobType):
    """Writes one crontab entry per active schedule entry of each job whose ``dispatcher`` matches.

    The payload is ignored. See ``docs/jobtypes/lavasched.md`` for the crontab
    it writes and how it differs from lava's.
    """

    type_name = "lavasched"
    Params = LavaschedParams

    def validate(self, job: Job, params: LavaschedParams) -> list[str]:  # noqa: ARG002 - part of the JobType contract
        problems = []
        if not params.names:
            problems.append("$.parameters.dispatcher: name at least one dispatcher")
        for i, name in enumerate(params.names):
            where = "$.parameters.dispatcher" + (f"[{i}]" if isinstance(params.dispatcher, list) else "")
            if not name.strip():
                problems.append(f"{where}: a dispatcher name cannot be empty")
        arg_problems = []
        for i, arg in enumerate(params.args):
            try:
                cron_word(arg)
            except CrontabError as exc:
                arg_problems.append(f"$.parameters.args[{i}]: {exc}")
        why = None if arg_problems else dispatch_args_problem(params.args)
        problems += [*arg_problems, *([f"$.parameters.args: {why}"] if why else [])]
        for name, value in params.env.items():
            where = f"$.parameters.env.{name}"
            why = env_name_problem(name)
            if why:
                problems.append(f"{where}: {why}")
                continue
            if name in RESERVED_ENV:
                problems.append(f"{where}: set by lavasched to this realm; it cannot be given")
                continue
            try:
                env_line(name, str(value))
            except CrontabError as exc:
                problems.append(f"{where}: {exc}")
        cron_tz = params.env.get("CRON_TZ")
        if cron_tz is not None and not str(cron_tz).strip():
            problems.append("$.parameters.env.CRON_TZ: empty; leave CRON_TZ out to use the host's zone")
        elif cron_tz is not None:
            try:
                zone_named(str(cron_tz))
            except SpecError as exc:
                problems += [f"$.parameters.env.CRON_TZ: {p}" for p in exc.problems]
        if params.log is not None:
            if not PurePosixPath(params.log).is_absolute():
                problems.append(f"$.parameters.log: cron runs in the user's home folder; give an absolute path, "
                                f"got {params.log!r}")
            try:
                cron_word(params.log)
            except CrontabError as exc:
                problems.append(f"$.parameters.log: {exc}")
        return problems

    def run(self, run: RunContext, params: LavaschedParams) -> dict[str, Any]:
        names = sorted(set(params.names))
        try:
            support = cron_tz_support(run.setting("LAVASCHED_CRON_TZ"))
        except ValueError as exc:
            raise JobError(str(exc), data={"exit_status": 1}) from None
        crontab = Crontab.from_setting(run.setting("LAVASCHED_CRONTAB"))
        env, zone, cron_tz = cron_environment(params, names, support)
        try:
            block, plan = build(run.backend, names, env=env, args=params.args, log=params.log, job_id=run.job.job_id,
                                zone=zone_named(zone) if zone else local_zone())
        except ScheduleProblems as exc:
            raise JobError(str(exc), data={"exit_status": 1, "problems": exc.problems}) from None
        except CrontabError as exc:
            raise JobError(str(exc), data={"exit_status": 1}) from None
        result: dict[str, Any] = {
            "exit_status": 0, "dispatchers": names, "jobs": plan.jobs, "entries": len(plan.lines),
            "skipped": plan.skipped[:RESULT_SKIPPED_LIMIT], "cron_tz": cron_tz, "crontab": crontab.describe(),
            "command": lava_command(),
        }
        if len(plan.skipped) > RESULT_SKIPPED_LIMIT:
            result["skipped_more"] = len(plan.skipped) - RESULT_SKIPPED_LIMIT
        with crontab_lock():
            old = crontab.read(run)
            try:
                new = splice(old, block)
            except CrontabError as exc:
                raise JobError(str(exc), data={"exit_status": 1}) from None
            if new == old:
                return {**result, "changed": False}
            texts = {"crontab.old": old, "crontab.new": new, "crontab.diff": diff(old, new)}
            outputs = {name: run.save_output(name, text.encode("utf-8", "surrogateescape"))
                       for name, text in texts.items() if text}
            result.update(changed=True, outputs=outputs, **{k: _cut(v, outputs.get(k)) for k, v in texts.items() if v})
            notes = _notes(new)
            if notes:
                result["notes"] = notes
            try:
                crontab.install(run, new)
            except JobError as exc:
                raise JobError(exc.message, data={**(exc.data or {}), "outputs": outputs}) from None
        return result


def cron_environment(params: LavaschedParams, names: list[str],
                     support: CronTzSupport) -> tuple[dict[str, str], str | None, dict[str, Any]]:
    """The ``env`` variables to write, the zone the times are in (None: the host's), and what became of CRON_TZ.

    The CRON_TZ rule: a cron that honours CRON_TZ gets the line as written. A
    cron that ignores it runs every entry in the host's zone, so the line is
    dropped when its zone is the host's (nothing changes), and refused otherwise,
    since the entries would fire at other times than the ones written.
    """
    env = {name: str(value) for name, value in params.env.items()}
    info: dict[str, Any] = {"honoured": support.honoured, "how": support.how}
    zone = env.get("CRON_TZ")
    if not zone:
        return env, None, info
    if support.honoured:
        info["line"] = f"written: CRON_TZ={zone}"
        return env, zone, info
    if is_host_zone(zone):
        del env["CRON_TZ"]
        info["line"] = (f"dropped: the host's cron ignores CRON_TZ, and {zone} is the host's zone "
                        f"({host_zone_name()}), so the entries fire at the times written")
        return env, zone, info
    alternatives = "; ".join(f"lava dispatcher run --dispatcher {cron_word(n)} --zone {cron_word(zone)}"
                             for n in names)
    msg = (f"CRON_TZ={zone} cannot be honoured: the host's cron ignores CRON_TZ ({support.how}) and reads every "
           f"entry in the host's zone ({host_zone_name()}), so the schedules would fire at the wrong times. "
           f"Use the embedded dispatcher, which runs schedules in any zone: {alternatives} (and suspend this "
           "lavasched job), or remove CRON_TZ and write the schedules in the host's zone. If this host's cron "
           "does honour CRON_TZ, set LAVASCHED_CRON_TZ=yes. The crontab was left unchanged.")
    raise JobError(msg, data={"exit_status": 1, "cron_tz": info})


def _cut(text: str, uri: str | None) -> str:
    """The text for the event: bytes that are not UTF-8 shown as U+FFFD (the output keeps them), cut if long."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(text) <= RESULT_TEXT_LIMIT:
        return text
    return text[:RESULT_TEXT_LIMIT] + f"\n... ({len(text) - RESULT_TEXT_LIMIT} more characters in {uri})\n"


def _notes(new: str) -> list[str]:
    """Warnings about the crontab as installed: lines after the block see its variables."""
    after = new.split(f"{END}\n", 1)[-1]
    commands = [line for line in after.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not commands:
        return []
    return [f"{len(commands)} line(s) after lava's block also get its variables (PATH, LAVA_REALM, ...): "
            "cron applies a variable to every line below it; move them above the block to avoid that"]
