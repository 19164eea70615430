"""The lavasched job type run by real workers, on both backends, against this user's real crontab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lava_core.testing import put_jobs

from lava_lavasched.crontext import END, START

from tests.plugins.lava_lavasched.helpers import (
    COMMENT,
    DEFAULT_LOG,
    DEFAULT_PATH,
    LAVA,
    entry,
    error_of,
    realm_spec,
    result_of,
    run_sched,
)

def test_builds_the_block_with_sorted_env_quoting_absolute_path_and_windows(realm, crontab, tmp_path):
    log = tmp_path / "dispatch.log"
    soon = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    put_jobs(realm,
             {"job_id": "a/report", "type": "cmd", "payload": "true", "dispatcher": "D",
              "schedule": "0 12 * * mon-fri"},
             {"job_id": "b:multi@x+y", "type": "cmd", "payload": "true", "worker": "batch", "dispatcher": "D",
              "schedule": [" 30  6 * * * ",
                           {"crontab": "0 1 * * *", "from": "2020-01-01T00:00:00Z", "to": soon},
                           {"crontab": "0 2 * * *", "from": soon},  # starts later: not written yet
                           {"crontab": "0 3 * * *", "from": soon, "to": "2020-01-01T00:00:00Z"},  # excluded now
                           {"crontab": "0 4 * * *", "from": "2099-01-01T00:00:00Z", "to": soon},  # excluded later
                           "@reboot"]},
             {"job_id": "c-off", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "1 * * * *",
              "enabled": False},
             {"job_id": "c-string-off", "type": "cmd", "payload": "true", "dispatcher": "D",
              "schedule": "1 * * * *", "enabled": "False"},
             {"job_id": "c-template", "type": "cmd", "payload": "true", "dispatcher": "D",
              "schedule": "2 * * * *", "enabled": "{{ 1 == 1 }}"},
             {"job_id": "d-unscheduled", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": ""},
             {"job_id": "e-elsewhere", "type": "cmd", "payload": "true", "dispatcher": "E", "schedule": "3 * * * *"})
    realm.put_jobs([{"job_id": "c-missing", "type": "cmd", "worker": "core", "payload": "true",
                     "dispatcher": "D", "schedule": "1 * * * *"}])  # no "enabled": it defaults to false
    event, run_id = run_sched(realm, {"dispatcher": "D", "log": str(log), "env": {"MAILTO": "", "LANG": "C.UTF-8"},
                                      "args": ["--delay", "1m", "-g", "note=50% it's"]})
    result = result_of(event)
    args = "--delay 1m -g 'note=50'\\%' it'\"'\"'s' "
    expected = "\n".join([
        START, COMMENT.format("D"),
        "LANG=C.UTF-8", f"LAVA_REALM={realm_spec(realm)}", 'MAILTO=""', f"PATH={DEFAULT_PATH}",
        entry("0 12 * * mon-fri", "core", "a/report", log, args),
        entry("30 6 * * *", "batch", "b:multi@x+y", log, args),
        entry("0 1 * * *", "batch", "b:multi@x+y", log, args),
        entry("0 4 * * *", "batch", "b:multi@x+y", log, args),
        entry("@reboot", "batch", "b:multi@x+y", log, args),
        entry("2 * * * *", "core", "c-template", log, args),
        END, ""])
    assert crontab.text() == expected
    assert result["changed"] is True
    assert (result["dispatchers"], result["jobs"], result["entries"]) == (["D"], 3, 6)
    assert result["command"] == [LAVA]
    assert result["skipped"] == [
        {"job_id": "b:multi@x+y", "entry": 2, "reason": f"outside its window at build time (from {soon} to any time)"},
        {"job_id": "b:multi@x+y", "entry": 3,
         "reason": f"outside its window at build time (excluded between 2020-01-01T00:00:00+00:00 and {soon})"},
        {"job_id": "c-missing", "reason": "not enabled (enabled: missing (defaults to false))"},
        {"job_id": "c-off", "reason": "not enabled (enabled: False)"},
        {"job_id": "c-string-off", "reason": "not enabled (enabled: 'False')"},
    ]
    assert result["crontab.new"] == expected
    assert "crontab.old" not in result  # there was none
    assert result["crontab.diff"].startswith("--- crontab.old\n+++ crontab.new\n@@ -0,0 +1,13 @@\n+####")
    assert sorted(realm.list_outputs("sched", run_id)) == ["crontab.diff", "crontab.new"]
    assert realm.get_output("sched", run_id, "crontab.new") == expected.encode()
    assert result["outputs"]["crontab.new"].endswith(f"/sched/{run_id}/crontab.new")


def test_lines_outside_the_markers_are_kept_byte_for_byte_and_an_unchanged_crontab_is_not_rewritten(
        realm, crontab, tmp_path):
    before = (b"# someone's own crontab\nMAILTO=ops@example.com\n"
              b"0 5 * * *\t/usr/bin/true   # tab and trailing blanks   \n\n")
    after = b"# caf\xe9 (latin-1, not UTF-8)\n30 5 * * * echo after \\% done\n"
    crontab.install(before + f"{START}\n0 2 * * * stale lava entry\n{END}\n".encode() + after)
    put_jobs(realm, {"job_id": "j", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "5 4 * * *"})
    first, first_run = run_sched(realm, {"dispatcher": "D", "log": "/var/log/lava-dispatch.log"})
    result = result_of(first)
    block = "\n".join([START, COMMENT.format("D"), f"LAVA_REALM={realm_spec(realm)}", f"PATH={DEFAULT_PATH}",
                       entry("5 4 * * *", "core", "j", "/var/log/lava-dispatch.log"), END, ""]).encode()
    assert crontab.read() == before + block + after
    assert result["changed"] is True
    assert result["notes"] == ["1 line(s) after lava's block also get its variables (PATH, LAVA_REALM, ...): cron "
                               "applies a variable to every line below it; move them above the block to avoid that"]
    assert realm.get_output("sched", first_run, "crontab.old").startswith(before)
    assert "-0 2 * * * stale lava entry\n" in result["crontab.diff"]
    assert "# caf\ufffd (latin-1" in result["crontab.new"]  # the event shows text; the output keeps the bytes
    installed = crontab.spool_stat()

    second, second_run = run_sched(realm, {"dispatcher": "D", "log": "/var/log/lava-dispatch.log"})
    result = result_of(second)
    assert result["changed"] is False
    assert "outputs" not in result
    assert realm.list_outputs("sched", second_run) == []
    assert crontab.read() == before + block + after
    if installed is not None:  # the spool file carries an install time: it was not installed again
        assert crontab.spool_stat() == installed


def test_one_bad_schedule_fails_the_run_listing_every_problem_and_leaves_the_crontab_alone(realm, crontab):
    original = f"0 1 * * * mine\n{START}\n0 2 * * * old lava line\n{END}\n".encode()
    crontab.install(original)
    put_jobs(realm,
             {"job_id": "x/ok", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "0 12 * * *"},
             {"job_id": "x/seconds", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "0 0 12 * * *"},
             {"job_id": "x/typo", "type": "cmd", "payload": "true", "dispatcher": "D",
              "schedule": {"crontab": "0 12 * * *", "to:": "2019-02-01T00:00:00"}},
             {"job_id": "x/range", "type": "cmd", "payload": "true", "dispatcher": "D",
              "schedule": ["0 12 * * *", "61 * * * *"]},
             {"job_id": "x/ext", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "0 0 L * *"},
             {"job_id": "x/worker", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "0 1 * * *",
              "worker": ""},
             {"job_id": "x/disabled-bad", "type": "cmd", "payload": "true", "dispatcher": "D", "schedule": "junk",
              "enabled": False})
    event, _ = run_sched(realm, {"dispatcher": "D"})
    problems = [
        "job x/ext: $.schedule.crontab: '0 0 L * *' day of month field 'L': 'l' is a croniter extension cron "
        "does not understand",
        "job x/range: $.schedule[1].crontab: '61 * * * *': not a valid crontab",
        "job x/seconds: $.schedule.crontab: '0 0 12 * * *' has a seconds field, which cron cannot express (it "
        "would read the sixth field as the start of the command); drop it, or use the embedded dispatcher "
        "(lava dispatcher run)",
        "job x/typo: $.schedule.to:: unknown field",
        "job x/worker: $.worker: a fleet name is needed to dispatch the job, got ''",
    ]
    assert error_of(event) == ("5 problem(s) in the schedules for dispatcher(s) D; the crontab was left "
                               "unchanged:\n" + "\n".join(problems))
    assert event.log[-1].info["error_data"]["problems"] == problems
    assert crontab.read() == original


def test_a_start_marker_without_an_end_marker_is_refused(realm, crontab):
    original = f"0 1 * * * mine\n{START}\n0 2 * * * kept by the user\n".encode()
    crontab.install(original)
    event, _ = run_sched(realm, {"dispatcher": "D"})
    assert error_of(event) == (
        f"the crontab has a start marker without an end marker after it, so lava cannot tell where its lines "
        f"stop ({START!r} on line 2). Nothing was changed: fix the markers by hand (crontab -e) so that lava's "
        "lines sit between one start and one end marker, or remove lava's lines and both markers.")
    assert crontab.read() == original


def test_suspending_by_renaming_the_dispatcher_leaves_only_the_lavasched_job(realm, crontab):
    crontab.install(b"0 1 * * * mine\n")
    put_jobs(realm, {"job_id": "j1", "type": "cmd", "payload": "true", "dispatcher": "Sydney",
                     "schedule": "0 9 * * *"},
             {"job_id": "j2", "type": "cmd", "payload": "true", "dispatcher": "Sydney", "schedule": "0 17 * * *"})
    result = result_of(run_sched(realm, {"dispatcher": "Sydney"}, dispatcher="Sydney")[0])
    assert result["entries"] == 3  # j1, j2 and the lavasched job itself
    head = ["0 1 * * * mine", START]
    env = [f"LAVA_REALM={realm_spec(realm)}", f"PATH={DEFAULT_PATH}"]

    suspended = "**Disabled** Sydney"  # the seed's recipe: rename both dispatcher values
    result = result_of(run_sched(realm, {"dispatcher": suspended}, dispatcher=suspended)[0])
    assert (result["changed"], result["jobs"], result["entries"], result["skipped"]) == (True, 1, 1, [])
    assert crontab.text() == "\n".join([
        *head, COMMENT.format(suspended), *env,
        entry("*/15 * * * *", "core", "sched", DEFAULT_LOG), END, ""])
    assert "-0 9 * * *" in result["crontab.diff"] and "-0 17 * * *" in result["crontab.diff"]

    # A parameter that matches nothing at all (not even the lavasched job) leaves an empty block.
    result = result_of(run_sched(realm, {"dispatcher": "nobody"}, dispatcher=suspended)[0])
    assert (result["changed"], result["jobs"], result["entries"]) == (True, 0, 0)
    assert crontab.text() == "\n".join([*head, COMMENT.format("nobody"), *env, END, ""])


def test_a_crontab_that_cannot_be_read_fails_with_crontabs_message(lava_realm, crontab, monkeypatch):
    crontab.install(b"0 1 * * * mine\n")
    monkeypatch.setenv("LAVA_LAVASCHED_CRONTAB", "crontab -u no-such-user-lava")
    event, _ = run_sched(lava_realm, {"dispatcher": "D"})
    assert error_of(event) == (f"cannot read the crontab: `{crontab.command} -u no-such-user-lava -l` exited 1: "
                               "crontab:  user `no-such-user-lava' unknown")
    assert crontab.read() == b"0 1 * * * mine\n"
