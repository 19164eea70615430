"""The chain job type, run by a real worker on both backends."""

from __future__ import annotations

from lava_core.testing import put_jobs

from tests.plugins.lava_dag.helpers import cmd, result, run_job

SHOW = ('echo "{{ job.job_id }} g={{ globals.g }} h={{ globals.h }} parent={{ globals.lava.parent_job_id }} '
        'master={{ globals.lava.master_job_id }}" >> {{ globals.marks }}')


def test_can_fail_disabled_child_globals_and_shared_folder(realm, marks):
    """lava's scenario: a, off (disabled), bad (fails, tolerated by 'ba*'), b; all under the chain's run id."""
    put_jobs(realm,
             cmd("a", SHOW + "; echo from-a > shared.txt", globals={"g": "child", "h": "x"}),
             cmd("off", "echo never >> {{ globals.marks }}", enabled=False),
             cmd("bad", "exit 1"),
             cmd("b", "cat shared.txt >> {{ globals.marks }}"),
             {"job_id": "c", "type": "chain", "payload": "a, off, bad, b", "parameters": {"can_fail": "ba*"},
              "globals": {"g": "parent", "marks": str(marks)}})
    event, run_id = run_job(realm, "c")
    assert event.status == "complete"
    assert result(event) == {"exit_status": 0, "jobs": ["a", "off", "b"], "failed_jobs": ["bad"]}
    # Parent globals win over the child's own; globals.lava names the chain as parent and master.
    # b reads the file a left in the run's folder: children share it, and ran in order.
    assert marks.read_text().splitlines() == ["a g=parent h=x parent=c master=c", "from-a"]
    children = {job_id: realm.get_event(job_id, run_id) for job_id in ("a", "off", "bad", "b")}
    assert {k: e.status for k, e in children.items()} == {"a": "complete", "off": "skipped", "bad": "failed",
                                                          "b": "complete"}
    assert [entry.status for entry in children["off"].log] == ["skipped"]
    assert all(e.parent_job_id == "c" and e.master_job_id == "c" for e in children.values())


def test_untolerated_failure_stops_the_chain(realm, marks):
    put_jobs(realm,
             cmd("a", "echo a >> {{ globals.marks }}"),
             cmd("bad", "echo oops >&2; exit 3"),
             cmd("b", "echo b >> {{ globals.marks }}"),
             {"job_id": "strict", "type": "chain", "payload": ["a", "bad", "b"],
              "parameters": {"can_fail": ["x*", "b"]}, "globals": {"marks": str(marks)}},
             {"job_id": "lenient", "type": "chain", "payload": ["a", "bad", "b"],
              "parameters": {"can_fail": ["x*", "b*"]}, "globals": {"marks": str(marks)}})
    event, run_id = run_job(realm, "strict")
    assert event.status == "failed"
    info = result(event)
    assert info["error"] == "Job bad: Failed with exit status 3"
    assert info["error_data"] == {"exit_status": 1, "jobs": ["a"], "failed_jobs": ["bad"],
                                  "error": "Job bad: Failed with exit status 3"}
    assert realm.get_event("b", run_id) is None
    assert marks.read_text() == "a\n"

    event, _ = run_job(realm, "lenient")
    assert event.status == "complete"
    assert result(event) == {"exit_status": 0, "jobs": ["a", "b"], "failed_jobs": ["bad"]}


def test_job_prefix_and_start_resume_mid_chain(realm, marks):
    put_jobs(realm, *(cmd(f"grp/{x}", "echo {{ job.job_id }} >> {{ globals.marks }}") for x in "abc"),
             {"job_id": "resume", "type": "chain", "payload": ["a", "b", "c"],
              "parameters": {"job_prefix": "grp/", "start": "b"}, "globals": {"marks": str(marks)}})
    event, run_id = run_job(realm, "resume")
    assert event.status == "complete"
    assert result(event) == {"exit_status": 0, "jobs": ["grp/b", "grp/c"], "failed_jobs": []}
    assert marks.read_text() == "grp/b\ngrp/c\n"
    assert realm.get_event("grp/a", run_id) is None

    # A start that is not in the chain, given at dispatch time: the run is refused before any child runs.
    event, run_id = run_job(realm, "resume", parameters={"start": "zz"})
    assert event.status == "rejected"
    assert "$.parameters.start: requested start job grp/zz is not present in the chain" in result(event)
    assert all(realm.get_event(f"grp/{x}", run_id) is None for x in "abc")


def test_configuration_errors_fail_the_chain_even_with_can_fail(realm, marks):
    """Missing child, other fleet, invalid stored spec, bad parameters, unknown type: never tolerated."""
    put_jobs(realm, cmd("ok1", "echo ok1 >> {{ globals.marks }}"), cmd("ok2", "echo ok2 >> {{ globals.marks }}"),
             cmd("elsewhere", "true", worker="other"), cmd("badparams", "true", parameters={"bogus": 1}),
             {"job_id": "notype", "type": "nosuch", "payload": None})
    # Stored without validation, as a hand-edited table row would be.
    realm.put_jobs([{"job_id": "broken", "type": "cmd", "worker": "core", "enabled": True, "payload": "true",
                     "iteration_limit": 99}])
    expected = {
        "missing": "Job missing: no such job",
        "elsewhere": "Job elsewhere: Worker mismatch: Expected core but got other",
        "broken": "Job broken: invalid spec: $.iteration_limit: must be between 1 and 10, got 99",
        "badparams": "Job badparams: rejected: Bad job parameters: $.parameters.bogus: unknown field",
        "notype": "Job notype: rejected: no installed plugin provides job type 'nosuch'",
    }
    for child in expected:
        put_jobs(realm, {"job_id": f"chain-{child}", "type": "chain", "payload": ["ok1", child, "ok2"],
                         "parameters": {"can_fail": "*"}, "globals": {"marks": str(marks)}})
    for child, error in expected.items():
        event, run_id = run_job(realm, f"chain-{child}")
        assert event.status == "failed", child
        info = result(event)
        assert info["error"].startswith(error), info["error"]
        assert info["error_data"]["jobs"] == ["ok1"]
        assert info["error_data"]["failed_jobs"] == [child]
        assert realm.get_event("ok2", run_id) is None, child
    assert marks.read_text() == "ok1\n" * len(expected)


def test_a_job_never_runs_inside_itself(realm):
    """outer -> inner -> outer again: refused at the second level, before it recurses."""
    put_jobs(realm, {"job_id": "outer", "type": "chain", "payload": "inner"},
             {"job_id": "inner", "type": "dag", "payload": {"outer": None}})
    event, run_id = run_job(realm, "outer")
    assert event.status == "failed"
    assert result(event)["error"] == "Job inner: Job outer: would run inside itself: outer -> inner -> outer"
    assert realm.get_event("inner", run_id).status == "failed"
