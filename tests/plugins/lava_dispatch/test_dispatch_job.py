"""The dispatch job type, run by a real worker on both backends."""

from __future__ import annotations

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.errors import SpecError
from lava_core.plugins import PluginHost
from lava_core.testing import drain, put_jobs
from lava_core.validate import validate_spec

ECHO = ("echo {{ vars.n }} {{ vars.k is number }} {{ globals.who }} "
        "{{ globals.lava.parent_job_id }} {{ globals.lava.master_job_id }} {{ globals.lava.parent_start is defined }}")


def test_fan_out_gives_each_child_its_own_run_globals_and_parent(realm):
    put_jobs(realm, {
        "job_id": "fan", "type": "dispatch", "payload": "a, {{ globals.second }}",
        "globals": {"who": "world", "second": "b"},
        "parameters": {"job_prefix": "kid/",
                       "parameters": {"vars": {"n": "{{ globals.who }}-{{ run_id[:4] }}", "k": 3}}},
    }, {"job_id": "kid/a", "type": "cmd", "payload": ECHO}, {"job_id": "kid/b", "type": "cmd", "payload": ECHO,
                                                               "worker": "batch"})
    run_id = send(realm, DispatchRequest(job_id="fan")).run_id
    drain(realm)  # the parent and kid/a on fleet core
    drain(realm, "batch")  # kid/b: each target goes to its own job's fleet
    event = realm.get_event("fan", run_id)
    assert [e.status for e in event.log] == ["starting", "running", "complete"]
    result = event.log[-1].info
    assert result["exit_status"] == 0
    assert result["jobs"] == ["kid/a", "kid/b"]
    children = result["run_ids"]
    assert set(children) == {"kid/a", "kid/b"}
    assert len({run_id, *children.values()}) == 3  # each child has a run of its own
    for job_id, child_run in children.items():
        child = realm.get_event(job_id, child_run)
        assert child.status == "complete"
        assert (child.master_job_id, child.parent_job_id) == ("fan", "fan")
        out = realm.get_output(job_id, child_run, "stdout").decode()
        assert out == f"world-{run_id[:4]} True world fan fan True\n"  # parameters keep their types
    assert realm.queue_depth("core") == (0, 0)


def test_master_is_kept_and_parent_is_the_dispatcher(realm):
    put_jobs(realm, {"job_id": "mid", "type": "dispatch", "payload": ["leaf"], "parameters": {"jinja": False}},
             {"job_id": "leaf", "type": "cmd", "payload": ECHO})
    master = {"lava": {"master_job_id": "top", "master_start": "2026-01-02T03:04:05+00:00"}, "who": "up"}
    run_id = send(realm, DispatchRequest(job_id="mid", parameters={"parameters": {"vars": {"n": "{{ x }}"}}},
                                         globals=master)).run_id
    drain(realm)
    leaf_run = realm.get_event("mid", run_id).log[-1].info["run_ids"]["leaf"]
    # jinja false: the parameters go as written (rendering is one pass, so the child prints the template).
    assert realm.get_output("leaf", leaf_run, "stdout") == b"{{ x }} False up mid top True\n"
    assert realm.get_event("leaf", leaf_run).master_job_id == "top"


def test_bad_targets_at_run_time_dispatch_nothing(realm):
    put_jobs(realm, {"job_id": "d/self", "type": "dispatch", "payload": ["ok", "{{ job.job_id }}"]},
             {"job_id": "d/ghost", "type": "dispatch", "payload": "ok,ghost"},
             {"job_id": "ok", "type": "cmd", "payload": "true"})
    self_run = send(realm, DispatchRequest(job_id="d/self")).run_id
    ghost_run = send(realm, DispatchRequest(job_id="d/ghost")).run_id
    drain(realm)
    failed = realm.get_event("d/self", self_run).log[-1]
    assert failed.status == "failed"
    assert failed.info["error"] == ("Nothing dispatched: $.payload[1]: d/self: circular dispatch not permitted "
                                    "(a job cannot dispatch itself)")
    assert failed.info["error_data"] == {"exit_status": 1, "jobs": [], "run_ids": {}}
    failed = realm.get_event("d/ghost", ghost_run).log[-1]
    assert failed.info["error"] == f"Nothing dispatched: $.payload: no such job 'ghost' in realm {realm.realm_name!r}"
    assert realm.query_events(job_id="ok") == []  # "ok" came first in both lists, yet was never sent


@pytest.fixture(scope="module")
def host():
    return PluginHost()


@pytest.mark.parametrize(("payload", "parameters", "expected"), [
    ("a, d/x", {}, ["$.payload: d/x: circular dispatch not permitted (a job cannot dispatch itself)"]),
    (["x"], {"job_prefix": "d/"}, ["$.payload[0]: d/x: circular dispatch not permitted (a job cannot dispatch itself)"]),
    ("a,,b", {}, ["$.payload: empty job id in 'a,,b'"]),
    (["a", "b", "a"], {}, ["$.payload[2]: 'a' is listed twice"]),
    ("a b", {}, ["$.payload: 'a b' is not a job id (letters, digits and _ . : @ / + - only)"]),
    (["{{ x }}"], {"jinja": False}, ["$.payload[0]: '{{ x }}' is not a job id (letters, digits and _ . : @ / + - only)"]),
    ({"a": 1}, {}, ["$.payload: dispatch needs a list of job ids or a comma-separated string, got {'a': 1}"]),
    ("", {}, ["$.payload: dispatch needs a list of job ids or a comma-separated string, got ''"]),
    ("a", {"delay": "16m", "wait": 1}, ["$.parameters.delay: delay must be at most 15m, got '16m'",
                                        "$.parameters.wait: unknown field"]),
    ("{{ job.job_id }}", {"delay": "{{ globals.d }}"}, []),  # templates are checked once rendered
    ("a,b", {"job_prefix": "{{ globals.p }}"}, []),
])
def test_validation_when_the_spec_is_put(host, payload, parameters, expected):
    spec = {"job_id": "d/x", "type": "dispatch", "worker": "core", "payload": payload, "parameters": parameters}
    try:
        validate_spec(host, spec)
    except SpecError as exc:
        assert exc.problems == expected
    else:
        assert expected == []
