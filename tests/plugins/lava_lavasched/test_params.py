"""Checks that need neither cron nor a realm: lavasched parameters, cron syntax, the managed block's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from lava_core.errors import SpecError
from lava_core.plugins import PluginHost
from lava_core.validate import validate_spec

from lava_lavasched import plugin
from lava_lavasched.crontext import END, START, CrontabError, cron_syntax_problem, env_line, splice


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(entry_points=False, plugins=[("lava-lavasched", plugin)])


def problems(host: PluginHost, **parameters: object) -> list[str]:
    spec = {"job_id": "s", "type": "lavasched", "worker": "core", "payload": None, "parameters": parameters}
    try:
        validate_spec(host, spec)
    except SpecError as exc:
        return exc.problems
    return []


def test_valid_parameters(host):
    assert problems(host, dispatcher="Sydney") == []
    assert problems(host, dispatcher=["a", "b"], args=["--delay", "1m"], log="/var/log/lava-dispatch.log",
                    env={"CRON_TZ": "Australia/Sydney", "PATH": "/usr/bin:/bin", "MAILTO": "", "N": 3}) == []


def test_every_bad_parameter_is_reported_with_its_path(host):
    found = problems(host, args=["ok", "two\nlines"], log="relative.log", bogus=1,
                     env={"1BAD": "x", "LAVA_REALM": "elsewhere", "CRON_TZ": "Mars/Olympus", "Q": " '\" "})
    assert found == [
        "$.parameters.dispatcher: required field missing",
        "$.parameters.bogus: unknown field",
    ]
    found = problems(host, dispatcher=[], args=["ok", "two\nlines"], log="relative.log",
                     env={"1BAD": "x", "LAVA_REALM": "elsewhere", "CRON_TZ": "Mars/Olympus", "Q": " '\" "})
    assert found[0] == "$.parameters.dispatcher: name at least one dispatcher"
    assert found[1].startswith("$.parameters.args[1]: 'two\\nlines': a crontab line cannot hold a line break")
    assert found[2].startswith("$.parameters.env.1BAD: not a variable name")
    assert found[3] == "$.parameters.env.LAVA_REALM: set by lavasched to this realm; it cannot be given"
    assert found[4].startswith("$.parameters.env.Q: cron cannot carry this value exactly")
    assert found[5].startswith("$.parameters.env.CRON_TZ: unknown time zone 'Mars/Olympus'")
    assert found[6].startswith("$.parameters.log: cron runs in the user's home folder; give an absolute path")
    assert len(found) == 7
    assert problems(host, dispatcher=["ok", " "]) == ["$.parameters.dispatcher[1]: a dispatcher name cannot be empty"]
    assert problems(host, dispatcher="D", env={"CRON_TZ": ""}) == [
        "$.parameters.env.CRON_TZ: empty; leave CRON_TZ out to use the host's zone"]
    assert problems(host, dispatcher="D", args=["--check-dispatch"]) == [
        "$.parameters.args: `lava dispatch` refuses them: unrecognized arguments: --check-dispatch"]
    assert problems(host, dispatcher="D", args=["--delay", "20m"]) == [
        "$.parameters.args: `lava dispatch` refuses them: $.delay: delay must be at most 15m, got '20m'"]
    assert problems(host, dispatcher="D", args=["-p", "novalue"]) == [
        "$.parameters.args: `lava dispatch` refuses them: expected NAME=VALUE, got 'novalue'"]
    assert problems(host, dispatcher="D", args=["extra"]) == [
        "$.parameters.args: `lava dispatch` refuses them: a word that is not an option or its value (lavasched "
        "adds the job id itself)"]
    assert problems(host, dispatcher="D", args=["-w", "gpu"]) == [
        "$.parameters.args: --worker is set by lavasched to each job's worker"]
    assert problems(host, dispatcher=3) == ["$.parameters.dispatcher: expected a string or a list, got integer 3"]


@pytest.mark.parametrize(("crontab", "problem"), [
    ("0 12 * * mon-fri", None),
    ("*/15 0-6,22,23 1,15 jan-mar,DEC SUN", None),
    ("0 0 * * 7", None),
    ("@reboot", None),
    ("@midnight", None),
    ("0 0 12 * * *", "has a seconds field, which cron cannot express"),
    ("0 0 L * *", "day of month field 'L': 'l' is a croniter extension cron does not understand"),
    ("0 0 * * 1#2", "day of week field '1#2': '1#2' is a croniter extension"),
    ("0 0 ? * *", "day of month field '?': '?' is a croniter extension"),
    ("H 0 * * *", "minute field 'H': 'h' is a croniter extension"),
    ("0 0 * * 5L", "day of week field '5L': '5l' is a croniter extension"),
    ("0 0 1W * *", "day of month field '1W': '1w' is a croniter extension"),
    ("0 0 * mon *", "month field 'mon': 'mon' is a croniter extension"),
])
def test_cron_syntax_is_what_debian_cron_accepts(crontab, problem):
    # Each refused form was tried with Debian's crontab: it rejects L, W, ?, H; it accepts 1#2 but does
    # not mean croniter's "second Monday" by it; a sixth field would be taken as the command's start.
    found = cron_syntax_problem(crontab)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem)), found


@pytest.mark.parametrize(("value", "line"), [
    ("C.UTF-8", "LANG=C.UTF-8"),
    ("", 'LANG=""'),  # Debian's crontab refuses "NAME=" with nothing after it
    (" padded ", 'LANG=" padded "'),
    ("'quoted'", "LANG=\"'quoted'\""),
    ('say "hi" ', "LANG='say \"hi\" '"),
    ("a b  c", "LANG=a b  c"),
    ("50%", "LANG=50%"),  # % is special only in the command field
])
def test_env_lines_keep_the_value_exact(value, line):
    assert env_line("LANG", value) == line


def test_splice_appends_a_block_and_keeps_a_missing_last_newline_fixable():
    assert splice("", f"{START}\nX=1\n{END}\n") == f"{START}\nX=1\n{END}\n"
    assert splice("MAILTO=me\n0 1 * * * mine", f"{START}\n{END}\n") == f"MAILTO=me\n0 1 * * * mine\n{START}\n{END}\n"


def test_splice_replaces_only_between_the_markers():
    old = f"# top\n{START}\nold stuff\n  {END}  \n0 1 * * * mine \t\n"
    assert splice(old, f"{START}\nnew\n{END}\n") == f"# top\n{START}\nnew\n{END}\n0 1 * * * mine \t\n"


@pytest.mark.parametrize(("old", "why"), [
    (f"a\n{START}\nb\n", "a start marker without an end marker"),
    (f"{END}\n{START}\n", "the end marker comes before the start marker"),
    (f"x\n{END}\n", "an end marker without a start marker"),
    (f"{START}\n{END}\n{START}\n{END}\n", "more than one start or end marker"),
])
def test_unpaired_markers_are_refused(old, why):
    with pytest.raises(CrontabError, match=why):
        splice(old, f"{START}\n{END}\n")


def test_the_documented_example_is_valid():
    import yaml

    example = Path(__file__).parents[3] / "docs" / "examples" / "lavasched" / "jobs.yaml"
    jobs = [validate_spec(PluginHost(), spec) for spec in yaml.safe_load(example.read_text())]
    assert [(job.job_id, job.type) for job in jobs] == [
        ("sched/main", "lavasched"), ("demo/heartbeat", "cmd"), ("demo/office-hours", "cmd"), ("demo/retired", "cmd")]


def test_build_block_without_cron(lava_realm):
    from zoneinfo import ZoneInfo

    from lava_lavasched.crontab import ScheduleProblems, build_block

    lava_realm.put_jobs([{"job_id": f"j{i}", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
                          "dispatcher": "h", "schedule": f"{i} 3 * * *"} for i in range(3)])
    block = build_block(lava_realm, ["h"], env={"B": "2", "A": "1"}, args=[], zone=ZoneInfo("UTC"), log="/l")
    lines = block.splitlines()
    assert (lines[0], lines[2:4], lines[-1]) == (START, ["A=1", "B=2"], END)
    assert [line.split(" /")[0] for line in lines[6:-1]] == ["0 3 * * *", "1 3 * * *", "2 3 * * *"]
    lava_realm.put_jobs([{"job_id": "bad", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
                          "dispatcher": "h", "schedule": "* * * *"}])
    with pytest.raises(ScheduleProblems) as caught:
        build_block(lava_realm, ["h"], env={}, args=[], zone=ZoneInfo("UTC"))
    assert caught.value.problems == [
        "job bad: $.schedule.crontab: '* * * *': expected 5 fields (minute hour day month weekday) or 6 (plus "
        "seconds), got 4"]
