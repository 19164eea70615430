"""The dag job type, run by a real worker on both backends.

Children write start/end timestamps to a marker file; order and parallelism are
read from those intervals.
"""

from __future__ import annotations

from lava_core.records import parse_ts
from lava_core.testing import put_jobs

from tests.plugins.lava_dag.helpers import cmd, intervals, overlap, result, run_job, timed


def most_at_once(spans: dict[str, tuple[float, float]]) -> int:
    """The largest number of intervals open at the same instant."""
    edges = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    open_now = peak = 0
    for _, step in edges:  # at equal times an end (-1) sorts first: touching intervals do not overlap
        open_now += step
        peak = max(peak, open_now)
    return peak


def test_order_parallelism_and_no_waves(realm, marks):
    """{B: A, C: null, D: [B, A]} with prefix p/: A and C run together; B starts when A ends, not when C does."""
    put_jobs(realm, timed("p/A", 0.2), timed("p/B", 0.2), timed("p/C", 1.5), timed("p/D", 0.1),
             {"job_id": "dag1", "type": "dag", "payload": {"B": "A", "C": None, "D": ["B", "A"]},
              "parameters": {"workers": 4, "job_prefix": "p/"}, "globals": {"marks": str(marks)}})
    event, run_id = run_job(realm, "dag1")
    assert event.status == "complete"
    info = result(event)
    assert sorted(info["jobs"]) == ["p/A", "p/B", "p/C", "p/D"]
    assert info["failed_jobs"] == []
    span = intervals(marks)  # also checks that A, named twice, ran once
    a, b, c, d = (span[f"p/{x}"] for x in "ABCD")
    assert overlap(a, c)  # independent jobs ran at the same time
    assert b[0] >= a[1]  # a successor starts after its predecessor ended
    assert d[0] >= b[1]
    assert b[0] < c[1]  # ... and does not wait for the slow, unrelated C (lava's waves would)
    for job_id in ("p/A", "p/B", "p/C", "p/D"):
        child = realm.get_event(job_id, run_id)
        assert (child.status, child.parent_job_id, child.master_job_id) == ("complete", "dag1", "dag1")


def test_failure_stops_new_starts_while_running_siblings_finish(realm, marks):
    """{B: A, C: A, D: [B, C]}: B fails at once while C runs. Without can_fail, D never starts."""
    jobs = [timed("A", 0.05), timed("B", 0.01, exit_status=3), timed("C", 0.8),
            timed("D", 0.05)]
    graph = {"B": "A", "C": "A", "D": ["B", "C"]}
    put_jobs(realm, *jobs,
             {"job_id": "strict", "type": "dag", "payload": graph, "parameters": {"workers": 3},
              "globals": {"marks": str(marks)}},
             {"job_id": "lenient", "type": "dag", "payload": graph, "parameters": {"workers": 3, "can_fail": ["B"]},
              "globals": {"marks": str(marks)}})
    event, run_id = run_job(realm, "strict")
    assert event.status == "failed"
    info = result(event)
    assert info["error"] == "Job B: Failed with exit status 3"
    assert sorted(info["error_data"]["jobs"]) == ["A", "C"]
    assert info["error_data"]["failed_jobs"] == ["B"]
    assert realm.get_event("C", run_id).status == "complete"  # the running sibling finished
    assert realm.get_event("D", run_id) is None  # the not-yet-started successor never started
    span = intervals(marks)
    assert "D" not in span
    assert overlap(span["B"], span["C"])  # C was running when B failed
    # The dag ended after C did (event times have millisecond resolution).
    assert parse_ts(event.log[-1].ts_event).timestamp() + 0.001 >= span["C"][1]

    marks.unlink()
    event, run_id = run_job(realm, "lenient")
    assert event.status == "complete"
    assert result(event)["failed_jobs"] == ["B"]
    assert sorted(result(event)["jobs"]) == ["A", "C", "D"]
    span = intervals(marks)
    assert span["D"][0] >= span["C"][1]  # a tolerated failure still counts as done for D


def test_workers_default_and_maximum_come_from_settings(realm, marks, monkeypatch):
    """DAG_WORKERS=1: one at a time; workers 5 clamped by DAG_MAX_WORKERS=2: never more than two at once."""
    monkeypatch.setenv("LAVA_DAG_WORKERS", "1")
    monkeypatch.setenv("LAVA_DAG_MAX_WORKERS", "2")
    put_jobs(realm, *(timed(x, 0.3) for x in ("X", "Y", "P", "Q", "R")),
             {"job_id": "serial", "type": "dag", "payload": {"X": None, "Y": None}, "globals": {"marks": str(marks)}},
             {"job_id": "clamped", "type": "dag", "payload": {"P": [], "Q": [], "R": []},
              "parameters": {"workers": 5}, "globals": {"marks": str(marks)}})
    assert run_job(realm, "serial")[0].status == "complete"
    span = intervals(marks)
    assert not overlap(span["X"], span["Y"])
    marks.unlink()
    assert run_job(realm, "clamped")[0].status == "complete"
    assert most_at_once(intervals(marks)) == 2
    # A bad setting is a clear failure of the run, not a crash.
    monkeypatch.setenv("LAVA_DAG_WORKERS", "many")
    event, _ = run_job(realm, "serial")
    assert (event.status, result(event)["error"]) == ("failed", "setting DAG_WORKERS must be a positive integer, "
                                                                "got 'many'")


def test_refused_dags_run_nothing(realm, marks):
    """A cycle stored without validation, workers 0 given at dispatch, a missing child: nothing or little runs."""
    put_jobs(realm, timed("a", 0.01), timed("b", 0.01), cmd("elsewhere", "true", worker="other"),
             {"job_id": "ok", "type": "dag", "payload": {"b": "a"}, "globals": {"marks": str(marks)}},
             {"job_id": "broken", "type": "dag", "payload": {"a": None, "m": "a", "b": "m"},
              "parameters": {"can_fail": "*"}, "globals": {"marks": str(marks)}},
             {"job_id": "astray", "type": "dag", "payload": {"elsewhere": None}, "parameters": {"can_fail": "*"}})
    realm.put_jobs([{"job_id": "cyclic", "type": "dag", "worker": "core", "enabled": True,
                     "payload": {"a": "b", "b": ["a"]}}])
    event, run_id = run_job(realm, "cyclic")
    assert event.status == "rejected"
    assert result(event) == "Bad job spec: $.payload: jobs are in a cycle: a -> b -> a"
    assert realm.get_event("a", run_id) is None

    event, run_id = run_job(realm, "ok", parameters={"workers": 0})
    assert event.status == "rejected"
    assert result(event) == "Bad job spec: $.parameters.workers: must be at least 1, got 0"
    assert not marks.exists()

    event, run_id = run_job(realm, "broken")
    assert event.status == "failed"
    assert result(event)["error"] == "Job m: no such job"
    assert result(event)["error_data"]["failed_jobs"] == ["m"]
    assert list(intervals(marks)) == ["a"]  # b, after the missing m, never started
    event, _ = run_job(realm, "astray")
    assert result(event)["error"] == "Job elsewhere: Worker mismatch: Expected core but got other"
