"""The foreach job type and each of its loop sources, run by a real worker on both backends."""

from __future__ import annotations

import json

from lava_core.testing import put_jobs

from tests.plugins.lava_dag.helpers import cmd, intervals, overlap, result, run_job, timed

def lines(marks):
    return marks.read_text().splitlines() if marks.exists() else []


def foreach(job_id, child, source, marks, **parameters):
    return {"job_id": job_id, "type": "foreach", "payload": child, "parameters": {"foreach": source, **parameters},
            "globals": {"marks": str(marks)}}


def test_inline_values_override_parent_and_child_globals(realm, marks):
    """globals = child spec < parent's globals < iteration values; foreach_index counts from 0."""
    put_jobs(realm,
             cmd("show", 'echo "{{ globals.lava.foreach_index }} g={{ globals.g }} k={{ globals.k }} '
                         'c={{ globals.c }} x={{ globals.x }} parent={{ globals.lava.parent_job_id }}" '
                         ">> {{ globals.marks }}", globals={"g": "child", "c": "C", "k": "child"}),
             {"job_id": "f", "type": "foreach", "payload": "show",
              "parameters": {"foreach": {"type": "inline", "values": [{"g": "v0"}, {"g": "v1", "x": 1}]}},
              "globals": {"g": "parent", "k": "K", "marks": str(marks)}})
    event, run_id = run_job(realm, "f")
    assert event.status == "complete"
    assert result(event) == {"exit_status": 0, "limit": 10, "foreach_len": 2, "jobs_completed": 2,
                             "failed_indexes": []}
    assert lines(marks) == ["0 g=v0 k=K c=C x= parent=f", "1 g=v1 k=K c=C x=1 parent=f"]
    child = realm.get_event("show", run_id)  # both iterations share the child's item (same job, same run)
    assert (child.status, child.parent_job_id, child.master_job_id) == ("complete", "f", "f")
    assert [e.status for e in child.log].count("complete") == 2


def test_range_with_and_without_a_name_and_the_limits(realm, marks, monkeypatch):
    put_jobs(realm, cmd("n", 'echo "{{ globals.lava.foreach_index }}:{{ globals.n }}" >> {{ globals.marks }}'),
             foreach("stepped", "n", {"type": "range", "start": 1, "stop": 8, "step": 3, "name": "n"}, marks),
             foreach("down", "n", {"type": "range", "start": 2, "stop": 0, "step": -1, "name": "n"}, marks),
             foreach("nameless", "n", {"type": "range", "stop": 2}, marks),
             foreach("long", "n", {"type": "range", "stop": 11}, marks),
             foreach("wide", "n", {"type": "range", "stop": 1}, marks, limit=30))
    assert result(run_job(realm, "stepped")[0])["foreach_len"] == 3
    assert result(run_job(realm, "down")[0])["foreach_len"] == 2
    assert result(run_job(realm, "nameless")[0])["jobs_completed"] == 2  # the child runs, with no value
    assert lines(marks) == ["0:1", "1:4", "2:7", "0:2", "1:1", "0:", "1:"]

    # Too many values, or a limit above the realm's: nothing runs at all.
    marks.unlink()
    event, run_id = run_job(realm, "long")
    assert (event.status, result(event)["error"]) == ("failed", "foreach value list exceeds limit of 10")
    assert result(event)["error_data"] == {"exit_status": 1, "error": "foreach value list exceeds limit of 10"}
    assert realm.get_event("n", run_id) is None
    event, _ = run_job(realm, "wide")
    assert result(event)["error"] == "foreach limit of 30 exceeds realm limit of 25"
    assert lines(marks) == []
    # Both limits are worker settings (env LAVA_* or the realm's config).
    monkeypatch.setenv("LAVA_FOREACH_LIMIT", "11")
    monkeypatch.setenv("LAVA_FOREACH_MAX_LIMIT", "30")
    assert run_job(realm, "long")[0].status == "complete"
    assert run_job(realm, "wide")[0].status == "complete"


def test_csv_and_jsonl_from_the_payload_store(realm, marks):
    realm.put_payload("in/rows.csv", b"\xef\xbb\xbfa,b\n1,x y\n2,\n")
    realm.put_payload("in/rows.jsonl", b'{"a": 1, "b": [1, 2]}\n\n{"a": "two", "b": null}\n')
    realm.put_payload("in/lava.csv", b"a,lavax\n1,2\n")
    realm.put_payload("in/bad.jsonl", b'{"a": 1}\n[1]\n')
    show = "echo '{{ globals.lava.foreach_index }} a={{ globals.a | tojson }} b={{ globals.b | tojson }}' >> {{ globals.marks }}"
    put_jobs(realm, cmd("row", show),
             {**foreach("csv", "row", {"type": "csv", "filename": "{{ globals.dir }}/rows.csv"}, marks),
              "globals": {"marks": str(marks), "dir": "in"}},
             foreach("jsonl", "row", {"type": "jsonl", "filename": "in/rows.jsonl"}, marks),
             foreach("literal", "row", {"type": "csv", "filename": "{{ globals.dir }}/rows.csv"}, marks, jinja=False),
             foreach("missing", "row", {"type": "csv", "filename": "in/nope.csv"}, marks),
             foreach("reserved", "row", {"type": "csv", "filename": "in/lava.csv"}, marks),
             foreach("badline", "row", {"type": "jsonl", "filename": "in/bad.jsonl"}, marks),
             foreach("badtemplate", "row", {"type": "jsonl", "filename": "{{ globals.dir | nosuchfilter }}"}, marks))
    assert run_job(realm, "csv")[0].status == "complete"
    assert run_job(realm, "jsonl")[0].status == "complete"
    # CSV values are strings keyed by the header; JSON Lines keep their JSON types.
    assert lines(marks) == ['0 a="1" b="x y"', '1 a="2" b=""', "0 a=1 b=[1, 2]", '1 a="two" b=null']

    errors = {job_id: result(run_job(realm, job_id)[0])["error"]
              for job_id in ("literal", "missing", "reserved", "badline", "badtemplate")}
    assert errors["literal"].startswith("parameters.foreach.filename: no object '{{ globals.dir }}/rows.csv'")
    assert errors["missing"].startswith("parameters.foreach.filename: no object 'in/nope.csv' in the payload store")
    assert errors["reserved"] == 'in/lava.csv: foreach field names may not start with "lava": lavax'
    assert errors["badline"] == "in/bad.jsonl: line 2: expected a JSON object, got list"
    assert errors["badtemplate"].startswith("parameters.foreach.filename: TemplateAssertionError: ")
    assert len(lines(marks)) == 4  # none of the failed loops ran a child


def test_s3list_lists_the_payload_store_recursively(realm, marks):
    for name, data in {"in/a.csv": b"1", "in/b.txt": b"22", "in/sub/c.csv": b"333", "other/d.csv": b""}.items():
        realm.put_payload(name, data)
    put_jobs(realm, cmd("obj", 'echo "{{ globals.s3obj.Key }} {{ globals.s3obj.Size }} {{ globals.s3obj.Uri }}" '
                               ">> {{ globals.marks }}"),
             {**foreach("listing", "obj", {"type": "s3list", "prefix": "{{ globals.where }}/", "glob": "*.csv"},
                        marks), "globals": {"marks": str(marks), "where": "in"}},
             foreach("everything", "obj", {"type": "s3list", "glob": ["*/b.*", "other/*"]}, marks))
    assert result(run_job(realm, "listing")[0])["foreach_len"] == 2
    assert result(run_job(realm, "everything")[0])["foreach_len"] == 2
    root = realm.get_realm().s3_payloads.rstrip("/")
    assert lines(marks) == [f"in/a.csv 1 {root}/in/a.csv", f"in/sub/c.csv 3 {root}/in/sub/c.csv",
                            f"in/b.txt 2 {root}/in/b.txt", f"other/d.csv 0 {root}/other/d.csv"]


def test_failure_policy_sequential(realm, marks):
    """Index 1 fails: with can_fail the loop goes on; without, it stops there. Config errors always stop it."""
    flaky = cmd("flaky", 'echo "{{ globals.lava.foreach_index }}" >> {{ globals.marks }}; '
                         "[ {{ globals.lava.foreach_index }} -ne 1 ]")
    values = {"type": "range", "stop": 3}
    put_jobs(realm, flaky, foreach("tolerant", "flaky", values, marks, can_fail=True),
             foreach("strict", "flaky", values, marks),
             foreach("orphan", "missing", values, marks, can_fail=True))
    event, _ = run_job(realm, "tolerant")
    assert event.status == "complete"
    assert result(event) == {"exit_status": 0, "limit": 10, "foreach_len": 3, "jobs_completed": 2,
                             "failed_indexes": [1]}
    assert lines(marks) == ["0", "1", "2"]

    marks.unlink()
    event, _ = run_job(realm, "strict")
    assert event.status == "failed"
    assert result(event)["error"] == "Job flaky: Index 1: Failed with exit status 1"
    assert result(event)["error_data"] == {"exit_status": 1, "limit": 10, "foreach_len": 3, "jobs_completed": 1,
                                           "failed_indexes": [1], "error": "Job flaky: Index 1: Failed with exit status 1"}
    assert lines(marks) == ["0", "1"]

    event, _ = run_job(realm, "orphan")
    assert result(event)["error"] == "Job missing: Index 0: no such job"
    assert result(event)["error_data"]["failed_indexes"] == [0]


def test_parallel_children_overlap_and_a_failure_stops_new_starts(realm, marks):
    put_jobs(realm, timed("slow", 0.5),
             cmd("mixed", 'echo "{{ globals.lava.foreach_index }} start $(date +%s.%N)" >> {{ globals.marks }}; '
                          "[ {{ globals.lava.foreach_index }} -ne 1 ] || exit 4; sleep 0.5; "
                          'echo "{{ globals.lava.foreach_index }} end $(date +%s.%N)" >> {{ globals.marks }}'),
             foreach("fan", "slow", {"type": "range", "stop": 4}, marks, parallel=3),
             foreach("halt", "mixed", {"type": "range", "stop": 6}, marks, parallel=2))
    event, _ = run_job(realm, "fan")
    assert event.status == "complete"
    assert result(event)["jobs_completed"] == 4
    span = intervals(marks)
    assert overlap(span["slow#0"], span["slow#1"]) and overlap(span["slow#1"], span["slow#2"])
    assert span["slow#3"][0] >= min(span[f"slow#{i}"][1] for i in range(3))  # at most 3 at once

    marks.unlink()
    event, _ = run_job(realm, "halt")
    assert event.status == "failed"
    assert result(event)["error"] == "Job mixed: Index 1: Failed with exit status 4"
    assert result(event)["error_data"]["failed_indexes"] == [1]
    assert result(event)["error_data"]["jobs_completed"] == 1
    # 0 and 1 started together; 1 failed at once while 0 ran on; 0 finished; 2..5 never started.
    assert sorted(tuple(line.split()[:2]) for line in lines(marks)) == [("0", "end"), ("0", "start"), ("1", "start")]


def test_jsonl_values_reach_the_child_as_typed_globals(realm, marks):
    realm.put_payload("cfg.jsonl", (json.dumps({"tables": ["a", "b"], "n": 2}) + "\n").encode())
    put_jobs(realm, cmd("t", 'echo "{{ globals.tables | join(",") }} {{ globals.n + 1 }}" >> {{ globals.marks }}'),
             foreach("typed", "t", {"type": "jsonl", "filename": "cfg.jsonl"}, marks))
    assert run_job(realm, "typed")[0].status == "complete"
    assert lines(marks) == ["a,b 3"]
