"""Job specs and dispatch messages: strict structuring, every problem reported by its path."""

from __future__ import annotations

import uuid

import pytest

from lava_core.errors import SpecError
from lava_core.records import DispatchMessage, Job, load_job, load_message, parse_ts

BASE = {"job_id": "grp/etl", "type": "cmd", "worker": "core", "payload": "echo hi"}


def problems_of(data, **kwargs):
    with pytest.raises(SpecError) as info:
        load_job(data, **kwargs)
    return info.value.problems


# --------------------------------------------------------------------------- jobs


def test_minimal_spec_gets_lava_defaults():
    job = load_job(dict(BASE))
    assert isinstance(job, Job)
    assert (job.job_id, job.type, job.worker, job.payload) == ("grp/etl", "cmd", "core", "echo hi")
    assert job.enabled is False  # lava's default: a job must be enabled explicitly
    assert job.parameters == {} and job.globals == {} and job.state == {}
    assert job.iteration_limit == 1
    assert job.iteration_delay == 0
    assert job.max_run_delay is None
    assert job.on_success is None and job.on_fail is None and job.on_retry is None
    assert job.extras == {}


def test_payload_key_must_exist_but_may_be_null():
    assert load_job({**BASE, "payload": None}).payload is None
    spec = dict(BASE)
    del spec["payload"]
    assert problems_of(spec) == ["$.payload: required field missing"]


def test_unknown_field_is_reported_by_path():
    assert problems_of({**BASE, "bogus": 1}) == ["$.bogus: unknown field"]


def test_every_problem_is_reported_at_once():
    spec = {"job_id": "j", "type": 3, "worker": 3, "bogus": 1, "iteration_limit": "5",
            "globals": {"LavaX": 1, "ok": 3}}
    assert problems_of(spec) == [
        "$.type: expected a string, got integer 3",
        "$.worker: expected a string, got integer 3",
        "$.payload: required field missing",
        "$.iteration_limit: expected an integer, got string '5'",
        "$.bogus: unknown field",
        "$.globals.LavaX: global names starting with 'lava' are reserved for lava",
    ]


@pytest.mark.parametrize("name", ["LavaX", "lava", "LAVA_RUN", "lAvA"])
def test_reserved_global_names_case_insensitive(name):
    problems = problems_of({**BASE, "globals": {name: 1, "fine": 2}})
    assert problems == [f"$.globals.{name}: global names starting with 'lava' are reserved for lava"]


def test_globals_merely_containing_lava_are_allowed():
    job = load_job({**BASE, "globals": {"my_lava": 1, "Java": 2}})
    assert job.globals == {"my_lava": 1, "Java": 2}


@pytest.mark.parametrize("limit", [1, 5, 10])
def test_iteration_limit_within_bounds(limit):
    assert load_job({**BASE, "iteration_limit": limit}).iteration_limit == limit


@pytest.mark.parametrize("limit", [0, 11, -1])
def test_iteration_limit_out_of_bounds(limit):
    assert problems_of({**BASE, "iteration_limit": limit}) == [
        f"$.iteration_limit: must be between 1 and 10, got {limit}"]


def test_iteration_delay_at_most_five_minutes():
    assert load_job({**BASE, "iteration_delay": "5m"}).iteration_delay == 300
    assert load_job({**BASE, "iteration_delay": 300}).iteration_delay == 300
    assert problems_of({**BASE, "iteration_delay": "6m"}) == ["$.iteration_delay: must be at most 5m, got '6m'"]
    assert problems_of({**BASE, "iteration_delay": 301}) == ["$.iteration_delay: must be at most 5m, got 301"]


def test_bad_duration_message_is_exact():
    assert problems_of({**BASE, "max_run_delay": "soon"}) == [
        "$.max_run_delay: expected a duration like '20m', got 'soon'"]


def test_bad_iteration_delay_reported_once():
    assert problems_of({**BASE, "iteration_delay": "soon"}) == [
        "$.iteration_delay: expected a duration like '20m', got 'soon'"]


def test_durations_keep_their_text():
    job = load_job({**BASE, "max_run_delay": "20m", "iteration_delay": "30s"})
    assert job.max_run_delay == 1200 and job.max_run_delay.text == "20m"
    assert job.iteration_delay == 30


def test_source_prefixes_every_line_of_the_message():
    with pytest.raises(SpecError) as info:
        load_job({**BASE, "parameters": "x", "owner": 5}, source="jobs/etl.yaml")
    exc = info.value
    assert exc.source == "jobs/etl.yaml"
    assert exc.job_id == "grp/etl"
    assert exc.problems == ["$.owner: expected a string, got integer 5",
                            "$.parameters: expected a map, got string 'x'"]
    assert str(exc) == ("jobs/etl.yaml: $.owner: expected a string, got integer 5\n"
                        "jobs/etl.yaml: $.parameters: expected a map, got string 'x'")


def test_non_map_spec():
    assert problems_of(["not", "a", "map"], source="x.yaml") == ["$: expected a job spec map, got list"]


def test_bad_job_id_characters():
    assert problems_of({**BASE, "job_id": "bad id"}) == [
        "$.job_id: 'bad id' may hold letters, digits and _ . : @ / + - only"]


def test_extension_fields_kept_and_round_tripped():
    spec = {**BASE, "enabled": True, "max_run_delay": "20m", "x-note": {"team": "data"}, "X-Ticket": 42}
    job = load_job(spec)
    assert job.extras == {"x-note": {"team": "data"}, "X-Ticket": 42}
    table = job.to_dict()
    assert table == spec
    assert load_job(table) == job


def test_to_dict_keeps_required_fields_and_drops_defaults():
    job = load_job({**BASE, "owner": "", "iteration_limit": 1, "on_fail": []})
    assert job.to_dict() == {**BASE, "enabled": False, "on_fail": []}


@pytest.mark.parametrize("enabled", [True, False, "true", "False", " TRUE ", "{{ globals.go }}"])
def test_enabled_bool_or_template(enabled):
    assert load_job({**BASE, "enabled": enabled}).enabled == enabled


def test_enabled_plain_string_must_be_true_or_false():
    assert problems_of({**BASE, "enabled": "maybe"}) == [
        "$.enabled: expected true, false or a Jinja template, got 'maybe'"]


def test_enabled_number_is_refused_not_truthy():
    # lava treats any non-bool, non-string (even 0) as enabled; we refuse it.
    (problem,) = problems_of({**BASE, "enabled": 0})
    assert problem.startswith("$.enabled: expected true/false or a string, got integer 0")


@pytest.mark.parametrize(("field", "value", "line"), [
    ("worker", 3, "$.worker: expected a string, got integer 3"),
    ("iteration_limit", "5", "$.iteration_limit: expected an integer, got string '5'"),
    ("iteration_limit", True, "$.iteration_limit: expected an integer, got boolean True"),
    ("max_tries", 1.5, "$.max_tries: expected an integer, got number 1.5"),
    ("cw_metrics", "yes", "$.cw_metrics: expected true or false, got string 'yes'"),
    ("globals", [], "$.globals: expected a map, got list []"),
])
def test_types_are_strict(field, value, line):
    assert problems_of({**BASE, field: value}) == [line]


def test_action_without_action_key():
    problems = problems_of({**BASE, "on_fail": [{"action": "log", "message": "x"}, {"message": "y"}],
                            "on_success": [{}]})
    assert sorted(problems) == ["$.on_fail[1].action: required field missing",
                                "$.on_success[0].action: required field missing"]


def test_action_list_items_must_be_maps():
    assert problems_of({**BASE, "on_retry": ["log"]}) == ["$.on_retry[0]: expected a map, got string 'log'"]


# --------------------------------------------------------------------------- messages


def good_message(**changes):
    return {"realm": "prod", "worker": "core", "job_id": "grp/job1", "run_id": str(uuid.uuid4()),
            "ts_dispatch": "2025-03-01T10:00:00+11:00", "parameters": {"a": 1}, "globals": {"g": "x"}, **changes}


def test_load_message_good():
    body = good_message()
    message = load_message(body)
    assert message.job_id == "grp/job1"
    assert message.run_id == body["run_id"]
    assert message.parameters == {"a": 1} and message.globals == {"g": "x"}
    assert message.to_body() == body


def test_load_message_without_optional_maps():
    body = good_message()
    del body["parameters"], body["globals"]
    message = load_message(body)
    assert message.parameters == {} and message.globals == {}


def message_problems(body):
    with pytest.raises(SpecError) as info:
        load_message(body)
    return info.value.problems


def test_load_message_unknown_key():
    assert message_problems(good_message(extra=1)) == ["$.extra: unknown field"]


def test_load_message_bad_run_id():
    assert message_problems(good_message(run_id="nope")) == ["$.run_id: expected a UUID, got 'nope'"]


def test_load_message_naive_ts_dispatch_refused():
    assert message_problems(good_message(ts_dispatch="2025-03-01T10:00:00")) == [
        "$.ts_dispatch: expected a timestamp with a timezone offset, got '2025-03-01T10:00:00'"]


def test_load_message_reports_all_problems_and_the_job():
    with pytest.raises(SpecError) as info:
        load_message(good_message(run_id="x", ts_dispatch="2025-03-01T10:00:00"))
    assert len(info.value.problems) == 2
    assert info.value.job_id == "grp/job1"


def test_load_message_missing_keys():
    assert message_problems({"realm": "prod"}) == ["$.worker: required field missing",
                                                   "$.job_id: required field missing"]


@pytest.mark.parametrize("body", ["myjob", [1], None, 3])
def test_load_message_non_map_body_says_what_was_expected(body):
    # Same wording as other records (load_job, Realm): no Python internals leak into the event.
    (problem,) = message_problems(body)
    assert problem.startswith("$: expected a map, got ")
    assert "attribute" not in problem and "iterable" not in problem


def test_to_body_omits_empty_maps_and_has_exactly_lava_keys():
    message = DispatchMessage(realm="prod", worker="core", job_id="j")
    body = message.to_body()
    assert set(body) == {"realm", "worker", "job_id", "run_id", "ts_dispatch"}
    assert uuid.UUID(body["run_id"]).version == 4
    assert parse_ts(body["ts_dispatch"]).tzinfo is not None
    full = DispatchMessage(realm="prod", worker="core", job_id="j", parameters={"p": 1}, globals={"g": 2}).to_body()
    assert set(full) == {"realm", "worker", "job_id", "run_id", "ts_dispatch", "parameters", "globals"}
    assert (full["parameters"], full["globals"]) == ({"p": 1}, {"g": 2})
    assert load_message(body) == message


def test_each_message_gets_its_own_run_id():
    a = DispatchMessage(realm="r", worker="w", job_id="j")
    b = DispatchMessage(realm="r", worker="w", job_id="j")
    assert a.run_id != b.run_id
