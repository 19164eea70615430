"""What `lava job put` / `lava job validate` refuse for chain, dag and foreach specs (no run needed)."""

from __future__ import annotations

import json

import pytest
import yaml

from lava_core.errors import SpecError
from lava_core.testing import run_cli
from lava_core.validate import validate_spec


def problems(host, spec):
    full = {"job_id": "v", "worker": "core", "enabled": True, **spec}
    try:
        validate_spec(host, full)
    except SpecError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(("payload", "cycle"), [
    ({"a": "b", "b": "a"}, "a -> b -> a"),
    ({"x": "x"}, "x -> x"),
    ({"start": None, "a": ["start", "c"], "b": "a", "c": ["b"]}, "a -> c -> b -> a"),
    ({"a": [], "b": ["a", "d"], "d": ["e"], "e": "b"}, "b -> d -> e -> b"),
])
def test_cycles_and_self_dependencies_are_named(lava_host, payload, cycle):
    assert problems(lava_host, {"type": "dag", "payload": payload}) == [f"$.payload: jobs are in a cycle: {cycle}"]


def test_a_deep_line_is_not_a_cycle(lava_host):
    line = {f"j{i}": f"j{i - 1}" for i in range(1, 5000)}
    assert problems(lava_host, {"type": "dag", "payload": line}) == []


def test_dag_spec_problems(lava_host):
    assert problems(lava_host, {"type": "dag", "payload": ["a", "b"]}) == [
        "$.payload: dag needs a map of job -> predecessor(s), got ['a', 'b']"]
    assert problems(lava_host, {"type": "dag", "payload": {}}) == ["$.payload: the dag is empty"]
    assert problems(lava_host, {"type": "dag", "payload": {"a": 1, "b": "x, y", "c": ["d", ""]}}) == [
        "$.payload.a: expected a job id, a list of job ids or null, got 1",
        "$.payload.b: 'x, y' is not a job id (no spaces or commas; write several ids as a list)",
        "$.payload.c[1]: empty job id"]
    assert problems(lava_host, {"type": "dag", "payload": {"a": None}, "parameters": {"workers": 0}}) == [
        "$.parameters.workers: must be at least 1, got 0"]
    assert problems(lava_host, {"type": "dag", "payload": {"a": None},
                                "parameters": {"workers": "4", "can_fail": [1], "colour": "red"}}) == [
        "$.parameters.workers: expected an integer, got string '4'",
        "$.parameters.can_fail: expected a string or a list, got list [1]",
        "$.parameters.colour: unknown field"]


def test_chain_spec_problems(lava_host):
    assert problems(lava_host, {"type": "chain", "payload": ""}) == ["$.payload: the chain is empty"]
    assert problems(lava_host, {"type": "chain", "payload": []}) == ["$.payload: the chain is empty"]
    assert problems(lava_host, {"type": "chain", "payload": {"a": 1}}) == [
        "$.payload: chain needs a comma-separated string or a list of job ids, got {'a': 1}"]
    assert problems(lava_host, {"type": "chain", "payload": "a,,b"}) == ["$.payload (item 2): empty job id"]
    assert problems(lava_host, {"type": "chain", "payload": ["a", 2]}) == [
        "$.payload[1]: expected a job id string, got 2"]
    assert problems(lava_host, {"type": "chain", "payload": "a, b", "parameters": {"start": "c",
                                                                                  "job_prefix": "p/"}}) == [
        "$.parameters.start: requested start job p/c is not present in the chain"]
    assert problems(lava_host, {"type": "chain", "payload": "a, b", "parameters": {"start": "b"}}) == []


def test_a_parent_naming_itself_is_refused(lava_host):
    assert problems(lava_host, {"job_id": "p/c", "type": "chain", "payload": "a, c",
                                "parameters": {"job_prefix": "p/"}}) == ["$.payload: the chain p/c runs itself"]
    assert problems(lava_host, {"job_id": "d", "type": "dag", "payload": {"a": "d"}}) == [
        "$.payload: the dag d runs itself"]
    assert problems(lava_host, {"job_id": "f", "type": "foreach", "payload": "f",
                                "parameters": {"foreach": {"type": "range", "stop": 1}}}) == [
        "$.payload: the foreach f runs itself"]


def test_foreach_spec_problems(lava_host):
    def check(source, **parameters):
        return problems(lava_host, {"type": "foreach", "payload": "child",
                                    "parameters": {"foreach": source, **parameters}})

    assert check({"type": "inline", "values": [{"a": 1}, {"LavaX": 2}]}) == [
        '$.parameters.foreach.values[1].LavaX: foreach field names may not start with "lava"']
    assert check({"type": "inline", "values": [1]}) == [
        "$.parameters.foreach.values[0]: expected a map, got integer 1"]
    assert check({"type": "range", "stop": 3, "step": 0, "name": "lava_n"}) == [
        "$.parameters.foreach.step: must not be 0",
        '$.parameters.foreach.name: foreach field names may not start with "lava"']
    assert check({"type": "range", "start": 1}) == ["$.parameters.foreach.stop: required field missing"]
    assert check({"type": "csv", "filename": "x.csv", "bucket": "b"}) == [
        "$.parameters.foreach.bucket: unknown field"]
    assert check({"type": "query", "conn_id": "db"}) == [
        "$.parameters.foreach.type: no foreach source 'query' (known: csv, inline, jsonl, range, s3list)"]
    assert check({"values": []}) == ["$.parameters.foreach.type: required field missing"]
    assert check({"type": "s3list", "glob": ["*.csv", 3]}) == [
        "$.parameters.foreach.glob: expected a string or a list or null, got list ['*.csv', 3]"]
    assert check({"type": "range", "stop": 3}, limit=0, parallel=0) == [
        "$.parameters.limit: must be at least 1, got 0", "$.parameters.parallel: must be at least 1, got 0"]
    assert problems(lava_host, {"type": "foreach", "payload": None, "parameters": {"foreach": {"type": "range",
                                                                                              "stop": 1}}}) == [
        "$.payload: foreach needs the id of the job to run, got None"]
    assert problems(lava_host, {"type": "foreach", "payload": "c"}) == [
        "$.parameters.foreach: required field missing"]


def test_cli_validate_and_put_refuse_a_cycle(tmp_path):
    spec = tmp_path / "jobs.yaml"
    spec.write_text(yaml.safe_dump([
        {"job_id": "ok", "type": "dag", "worker": "core", "enabled": True, "payload": {"b": "a"}},
        {"job_id": "loop", "type": "dag", "worker": "core", "enabled": True,
         "payload": {"a": None, "b": ["a", "c"], "c": "b"}},
    ]))
    proc = run_cli("job", "validate", str(spec))
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [f"{spec}[1]: $.payload: jobs are in a cycle: b -> c -> b"]
    realm = tmp_path / "realm"
    proc = run_cli("job", "put", str(spec), realm=realm)
    assert proc.returncode == 2
    assert "no job was written" in proc.stderr
    proc = run_cli("job", "ls", "--json", realm=realm)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, [])  # not even the valid one
