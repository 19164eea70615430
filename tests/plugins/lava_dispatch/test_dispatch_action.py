"""The dispatch post-job action: jobs linked only by actions, on both backends."""

from __future__ import annotations

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs


def only_run(realm, job_id):
    (event,) = realm.query_events(job_id=job_id)
    return event


def test_chain_of_three_jobs_linked_only_by_dispatch_actions(realm):
    put_jobs(realm, {
        "job_id": "A", "type": "cmd", "payload": "echo a",
        "on_success": [{"action": "dispatch", "job_id": "{{ globals.next }}",
                        "parameters": {"vars": {"from": "{{ job.job_id }}", "code": "{{ result.exit_status }}",
                                                "n": 2}}}],
    }, {
        "job_id": "B", "type": "cmd", "payload": "echo b {{ vars.from }} {{ vars.code }} {{ vars.n * 2 }}",
        "on_success": [{"action": "dispatch", "job_id": "C"}],
        "on_fail": [{"action": "dispatch", "job_id": "NEVER"}],
    }, {
        "job_id": "C", "type": "cmd",
        "payload": "echo {{ globals.lava.master_job_id }} {{ globals.lava.parent_job_id }} {{ globals.next }} "
                   "{{ globals.lava.master_start == globals.lava.parent_start }}",
    })
    a_run = send(realm, DispatchRequest(job_id="A", globals={"next": "B"})).run_id
    drain(realm)  # runs until the queue is empty: A, then B, then C
    a, b, c = realm.get_event("A", a_run), only_run(realm, "B"), only_run(realm, "C")
    assert [e.status for e in a.log] == ["starting", "running", "complete"]
    assert (b.status, c.status) == ("complete", "complete")
    assert len({a.run_id, b.run_id, c.run_id}) == 3
    assert realm.get_output("B", b.run_id, "stdout") == b"b A 0 4\n"  # rendered leaf by leaf: n stays a number
    assert realm.get_output("C", c.run_id, "stdout") == b"A B B False\n"  # globals passed down the whole chain
    assert (c.master_job_id, c.parent_job_id) == ("A", "B")
    assert (b.master_job_id, b.parent_job_id) == ("A", "A")
    assert realm.query_events(job_id="NEVER") == []
    assert realm.queue_depth("core") == (0, 0)


def test_on_fail_dispatch_with_failure_details_and_action_errors(realm):
    put_jobs(realm, {
        "job_id": "fails", "type": "cmd", "payload": "exit 4",
        "on_fail": [
            {"action": "dispatch", "job_id": "ghost"},
            {"action": "dispatch", "job_id": "cleanup", "delay": "{{ '20m' }}"},
            {"action": "dispatch", "job_id": "cleanup", "parameters": {"vars": {"why": "{{ result.error }}"}}},
        ],
    }, {"job_id": "cleanup", "type": "cmd", "payload": "echo {{ vars.why }} / {{ globals.lava.parent_job_id }}"})
    run_id = send(realm, DispatchRequest(job_id="fails")).run_id
    drain(realm)
    event = realm.get_event("fails", run_id)
    assert event.status == "failed"
    assert [e.info for e in event.log if e.status == "action_failed"] == [
        f"on_fail action 0 (dispatch): no such job 'ghost' in realm {realm.realm_name!r}",
        "on_fail action 1 (dispatch): delay: delay must be at most 15m, got '20m' (rendered from \"{{ '20m' }}\")",
    ]
    cleanup = only_run(realm, "cleanup")
    assert realm.get_output("cleanup", cleanup.run_id, "stdout") == b"Failed with exit status 4 / fails\n"
