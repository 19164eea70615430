"""Both dispatch request formats: CLI-style lines and JSON, as lava's helper accepts them."""

from __future__ import annotations

import json

import pytest

from lava_core.dispatch import DispatchRequest, parse_cli_text, parse_json_requests, parse_requests, set_dotted


def one_cli(text):
    requests, errors = parse_cli_text(text)
    assert errors == []
    assert len(requests) == 1
    return requests[0]


def cli_errors(text):
    requests, errors = parse_cli_text(text)
    assert requests == []
    return errors


# --------------------------------------------------------------------------- CLI lines


def test_lava_documented_example():
    request = one_cli('my-job -p timeout=1h -p vars.location=Isabela -p vars.name="Sierra Negra" -g country=Equador')
    assert request.job_id == "my-job"
    assert request.parameters == {"timeout": "1h", "vars": {"location": "Isabela", "name": "Sierra Negra"}}
    assert request.globals == {"country": "Equador"}
    assert request.delay == 0
    assert request.extras == {}


def test_long_options_and_inline_values():
    request = one_cli("job --param=x=1 --param y=2 --global=g=3 --global h=4 --delay=30s")
    assert request.parameters == {"x": "1", "y": "2"}
    assert request.globals == {"g": "3", "h": "4"}
    assert request.delay == 30


def test_plain_values_stay_strings():
    request = one_cli("job -p jinja=false -p n=3")
    assert request.parameters == {"jinja": "false", "n": "3"}


def test_typed_values_with_colon_equals():
    request = one_cli('job -p jinja:=false -p n:=3 -p xs:=\'[1,"a"]\' -p \'m:={"k": null}\' -g f:=1.5')
    assert request.parameters == {"jinja": False, "n": 3, "xs": [1, "a"], "m": {"k": None}}
    assert request.parameters["jinja"] is False
    assert request.globals == {"f": 1.5}


def test_typed_value_that_is_not_json():
    assert cli_errors("job -p n:=nope") == ["line 1: n: value after ':=' is not JSON: Expecting value"]


def test_comments_and_blank_lines_are_skipped():
    text = "# nightly batch\n\n   \njob-a   # first\n\t# indented comment\njob-b -p k=v\n"
    requests, errors = parse_cli_text(text)
    assert errors == []
    assert [r.job_id for r in requests] == ["job-a", "job-b"]
    assert requests[1].parameters == {"k": "v"}


def test_delay():
    assert one_cli("job -d 3m").delay == 180
    assert one_cli("job -d 3m").delay.text == "3m"
    assert one_cli("job -d 15m").delay == 900
    assert one_cli("job -d 90").delay == 90


def test_delay_over_fifteen_minutes_names_line_and_delay():
    errors = cli_errors("\njob -d 20m")
    assert len(errors) == 1
    assert errors[0].startswith("line 2: ")
    assert "delay" in errors[0] and "20m" in errors[0] and "15m" in errors[0]


def test_bad_delay_text():
    assert cli_errors("job -d soon") == ["line 1: delay: expected a duration like '20m', got 'soon'"]


def test_bad_lines_do_not_stop_good_lines():
    text = "good-1 -p a=1\nbad -x\ngood-2\nbad -d 20m\ngood-3 -g g=1"
    requests, errors = parse_cli_text(text)
    assert [r.job_id for r in requests] == ["good-1", "good-2", "good-3"]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4"]
    assert errors[0] == "line 2: unknown option -x (expected -d/--delay, -p/--param, -g/--global)"


def test_value_then_map_conflict():
    assert cli_errors("job -p a=1 -p a.b=2") == ["line 1: 'a.b' conflicts with 'a' set earlier"]


def test_map_then_value_conflict_is_not_a_silent_overwrite():
    # lava silently replaces {"a": {"b": "2"}} with {"a": "1"}; we refuse it.
    assert cli_errors("job -p a.b=2 -p a=1") == ["line 1: 'a' conflicts with 'a.*' set earlier"]


def test_conflicts_in_globals_too():
    (error,) = cli_errors("job -g x.y=1 -g x.y.z=2")
    assert error == "line 1: 'x.y.z' conflicts with 'x.y' set earlier"


def test_same_dotted_name_twice_last_wins():
    assert one_cli("job -p a.b=1 -p a.b=2 -p a.c=3").parameters == {"a": {"b": "2", "c": "3"}}


def test_empty_dotted_component_is_an_error():
    assert cli_errors("job -p a..b=1") == ["line 1: 'a..b': empty component in dotted name"]


@pytest.mark.parametrize(("line", "error"), [
    ("job -z 1", "line 1: unknown option -z (expected -d/--delay, -p/--param, -g/--global)"),
    ("job --verbose", "line 1: unknown option --verbose (expected -d/--delay, -p/--param, -g/--global)"),
    ("job-a job-b", "line 1: more than one job id: 'job-a' and 'job-b'"),
    ("-p a=1", "line 1: no job id"),
    ("job -p", "line 1: -p needs a value"),
    ("job -p novalue", "line 1: expected NAME=VALUE, got 'novalue'"),
    ("job -p =x", "line 1: expected NAME=VALUE, got '=x'"),
    ('job -p a="unterminated', "line 1: No closing quotation"),
])
def test_bad_cli_lines(line, error):
    assert cli_errors(line) == [error]


def test_set_dotted_builds_nested_maps():
    target = {}
    set_dotted(target, "vars.location", "Isabela")
    set_dotted(target, "vars.name", "Sierra Negra")
    set_dotted(target, "timeout", "1h")
    assert target == {"vars": {"location": "Isabela", "name": "Sierra Negra"}, "timeout": "1h"}


# --------------------------------------------------------------------------- JSON


def test_json_object_keeps_types_and_extensions():
    requests, errors = parse_json_requests({"job_id": "a", "parameters": {"n": 3, "on": False, "vars.x": "y"},
                                            "globals": {"g": [1, None]}, "delay": "1m", "x-note": "hi"})
    assert errors == []
    (request,) = requests
    assert request.parameters == {"n": 3, "on": False, "vars.x": "y"}  # dotted keys are not expanded in JSON
    assert request.globals == {"g": [1, None]}
    assert request.delay == 60
    assert request.extras == {"x-note": "hi"}


def test_json_list_reports_each_bad_item_by_index():
    data = [{"job_id": "a"}, {"job_id": "b", "bogus": 1}, {"parameters": {}}, {"job_id": "c", "delay": "16m"},
            "str", {"job_id": "d", "delay": 900}, {"job_id": 5}]
    requests, errors = parse_json_requests(data)
    assert [r.job_id for r in requests] == ["a", "d"]
    assert errors == [
        "$[1].bogus: unknown field",
        "$[2].job_id: required field missing",
        "$[3].delay: delay must be at most 15m, got '16m'",
        "$[4]: expected a request map with job_id, got str",
        "$[6].job_id: expected a string, got integer 5",
    ]


def test_json_object_errors_use_root_path():
    requests, errors = parse_json_requests({"bogus": 1})
    assert requests == []
    assert errors == ["$.job_id: required field missing", "$.bogus: unknown field"]


def test_json_negative_delay_refused():
    requests, errors = parse_json_requests({"job_id": "a", "delay": -5})
    assert requests == []
    assert len(errors) == 1 and errors[0].startswith("$.delay: ") and "negative" in errors[0]


# --------------------------------------------------------------------------- auto-detection


def test_parse_requests_json_object_and_list():
    body = {"job_id": "a", "parameters": {"n": 1}}
    assert parse_requests(json.dumps(body)) == ([DispatchRequest(job_id="a", parameters={"n": 1})], [])
    requests, errors = parse_requests(json.dumps([body, {"job_id": "b"}]))
    assert errors == [] and [r.job_id for r in requests] == ["a", "b"]


def test_parse_requests_json_errors_use_json_paths():
    assert parse_requests('[{"job_id": "a", "bogus": 1}]') == ([], ["$[0].bogus: unknown field"])


def test_parse_requests_cli_text():
    requests, errors = parse_requests("job-a -p n=1\njob-b")
    assert errors == []
    assert [(r.job_id, r.parameters) for r in requests] == [("job-a", {"n": "1"}), ("job-b", {})]


@pytest.mark.parametrize("body", ['"myjob"', "3", "true", "null", "{}", "[]"])
def test_parse_requests_json_scalar_or_empty_body_is_an_error(body):
    # As in lava: a JSON body that is not a request map (or list of them) is refused.
    requests, errors = parse_requests(body)
    assert requests == []
    assert len(errors) == 1
    assert errors[0].startswith("$: ")


def test_parse_requests_bad_job_id_is_refused():
    requests, errors = parse_requests('{"job_id": "bad id"}')
    assert requests == []
    assert errors == ["$.job_id: 'bad id' is not a job id (letters, digits and _ . : @ / + - only)"]


def test_parse_requests_empty_text():
    assert parse_requests("") == ([], [])
    assert parse_requests("# only a comment\n") == ([], [])
