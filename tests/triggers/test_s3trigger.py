"""The s3trigger: recorded events -> exact dispatch messages, prefix walk, conditions, rendering, dedup, cache."""

from __future__ import annotations

import pytest

from lava_core.errors import SpecError
from lava_triggers import S3TriggerSettings, S3TriggerSource, check_entry
from lava_triggers.entries import prefixes

from tests.triggers.conftest import entry, event, s3_event, sent, strip
from tests.triggers.recorder import KEY

RENDERED = entry("t-data", "data", "j1",
                 globals={"bucket": "{{ bucket }}", "key": "{{ key }}", "ip": "{{ info.source_ip or '' }}",
                          "t": "{{ info.event_time.isoformat() }}", "type": "{{ info.event_type }}"},
                 parameters={"env": {"KEY": "{{ key }}", "SIZE": "{{ info.size }}"}, "timeout": 5,
                             "quote": "say \"{{ key.split('/')[0] }}\""})


def run(source, backend, evt):
    report = source.explain(evt, backend=backend, dry_run=False)
    report.send(backend)
    return report


@pytest.mark.parametrize("name", ["s3_direct", "s3_via_sqs", "s3_via_sns", "s3_eventbridge"])
def test_each_delivery_path_gives_exact_dispatch_messages(realm, source, name):
    realm.put_triggers([RENDERED])
    report = run(source, realm, event(name))
    assert report.errors == []
    [body] = sent(realm)
    [info] = [d["info"] for item in report.items for d in item.detail]
    eventbridge = name == "s3_eventbridge"
    assert strip(body) == {
        "realm": realm.realm_name, "worker": "core", "job_id": "j1",
        "globals": {"bucket": "in-bucket", "key": KEY, "ip": "1.2.3.4" if eventbridge else "",
                    "t": info["event_time"], "type": "ObjectCreated:ObjectCreated" if eventbridge else "ObjectCreated:Put"},
        "parameters": {"env": {"KEY": KEY, "SIZE": "2000"}, "timeout": 5, "quote": 'say "data"'},
    }
    if name == "s3_via_sqs":  # the bucket's s3:TestEvent is the first message of the batch
        assert report.lambda_response() == {"batchItemFailures": []}
        assert report.items[0].notes == ["s3:TestEvent for bucket 'in-bucket' ignored"]


def test_prefix_levels():
    assert prefixes("a/b/c") == ["a/b/c", "a/b", "a", "*"]
    assert prefixes("a/b/") == ["a/b/", "a/b", "a", "*"]
    assert prefixes("top.csv") == ["top.csv", "*"]


def test_prefix_walk_takes_the_first_level_with_entries(realm, source):
    realm.put_triggers([entry("T1", "a/b", "j1"), entry("T2", "*", "j2"),
                        {**entry("T3", "a/b/", "j3"), "x-note": "stored without checks: never reached"}])
    for key, expected in [("a/b/c.csv", ["j1"]), ("a/x.csv", ["j2"]), ("a/bc.csv", ["j2"]), ("zz", ["j2"])]:
        report = run(source, realm, s3_event(key))
        assert [b["job_id"] for b in sent(realm)] == expected, key
    report = source.explain(s3_event("a/b/c.csv"), backend=realm)
    assert report.items[0].detail[0]["levels"] == ["a/b/c.csv", "a/b"]
    assert report.items[0].detail[0]["level"] == "a/b"


def test_a_disabled_entry_still_shadows_the_whole_bucket_entry(realm, source):
    realm.put_triggers([entry("T1", "a/b", "j1", enabled=False), entry("T2", "*", "j2")])
    report = run(source, realm, s3_event("a/b/c.csv"))
    assert sent(realm) == []
    assert report.errors == []
    assert "trigger T1: disabled" in report.items[0].lines


def test_no_entry_is_a_note_not_an_error(local, source):
    report = run(source, local, s3_event("nothing/here"))
    assert report.errors == []
    assert report.items[0].notes == ["no s3trigger entry for s3://in-bucket/nothing/here"]


@pytest.mark.parametrize(("fields", "obj", "fires"), [
    ({"if_fnmatch": ["*.csv", "*.zip"]}, ("in/d.csv", 10, "ObjectCreated:Put"), True),
    ({"if_fnmatch": ["*.csv", "*.zip"]}, ("in/d.txt", 10, "ObjectCreated:Put"), False),
    ({"if_fnmatch": "*.CSV"}, ("in/d.csv", 10, "ObjectCreated:Put"), False),  # case-sensitive
    ({"if_not_fnmatch": "*ignore*"}, ("in/d_ignore.csv", 10, "ObjectCreated:Put"), False),
    ({"if_not_fnmatch": "*ignore*"}, ("in/d.csv", 10, "ObjectCreated:Put"), True),
    ({"if_size_gt": "1K"}, ("in/d.csv", 2000, "ObjectCreated:Put"), True),
    ({"if_size_gt": "1K"}, ("in/d.csv", 500, "ObjectCreated:Put"), False),
    ({"if_size_gt": "1KiB"}, ("in/d.csv", 1024, "ObjectCreated:Put"), False),
    ({"if_size_gt": 0}, ("in/d.csv", 0, "ObjectCreated:Put"), False),
    ({"if_not_size_gt": "1K"}, ("in/d.csv", 500, "ObjectCreated:Put"), True),
    ({"if_not_size_gt": "1K"}, ("in/d.csv", 2000, "ObjectCreated:Put"), False),
    ({"if_event_type": "ObjectCreated:Put"}, ("in/d.csv", 1, "ObjectCreated:Put"), True),
    ({"if_event_type": "ObjectCreated:Put"}, ("in/d.csv", 1, "ObjectCreated:Copy"), False),
    ({"if_event_type": ["ObjectRemoved:*", "ObjectCreated:C*"]}, ("in/d.csv", 1, "ObjectCreated:Copy"), True),
    ({"if_not_event_type": "ObjectRemoved:*"}, ("in/d.csv", 1, "ObjectRemoved:Delete"), False),
    ({"if_fnmatch": "*.csv", "if_not_fnmatch": "*tmp*", "if_size_gt": "1K"}, ("in/tmp.csv", 2000, "ObjectCreated:Put"), False),
    ({"if_fnmatch": "*.csv", "if_not_fnmatch": "*tmp*", "if_size_gt": "1K"}, ("in/ok.csv", 2000, "ObjectCreated:Put"), True),
])
def test_conditions(local, source, fields, obj, fires):
    key, size, event_name = obj
    local.put_triggers([entry("T", "in", "j1", **fields)])
    report = run(source, local, s3_event(key, size=size, event_name=event_name))
    assert report.errors == []
    assert len(sent(local)) == (1 if fires else 0)
    conditions = report.items[0].detail[0]["entries"][0]["conditions"]
    assert [c["condition"] for c in conditions] == [k for k in
                                                    ("if_fnmatch", "if_not_fnmatch", "if_size_gt", "if_not_size_gt",
                                                     "if_event_type", "if_not_event_type") if k in fields]
    assert all(c["passed"] for c in conditions) == fires


def test_event_type_conditions_tell_notifications_from_eventbridge(local, source):
    local.put_triggers([entry("put", "data", "j1", if_event_type="ObjectCreated:Put"),
                        entry("any", "data", "j2", if_event_type="ObjectCreated:*")])
    run(source, local, event("s3_direct"))
    assert [b["job_id"] for b in sent(local)] == ["j1", "j2"]
    bridge = event("s3_eventbridge")
    bridge["detail"]["reason"] = "PutObject"  # what AWS sends (moto says ObjectCreated)
    run(source, local, bridge)
    assert [b["job_id"] for b in sent(local)] == ["j2"]


def test_an_invalid_entry_is_reported_by_trigger_and_field_and_does_not_block_the_others(realm, source):
    realm.put_triggers([entry("bad", "in", "j1", if_colour="red"), entry("good", "in", "j2")])
    report = run(source, realm, s3_event("in/x.csv"))
    assert report.items[0].errors == ["s3trigger 'bad': $.if_colour: unknown field"]
    assert [b["job_id"] for b in sent(realm)] == ["j2"]


def test_entry_checks_name_every_problem():
    with pytest.raises(SpecError) as caught:
        check_entry({"trigger_id": "t", "bucket": "b", "prefix": "a/b/", "job_id": ["ok", "bad id"], "enabled": "yes",
                     "delay": "20m", "if_size_gt": "20k", "globals": {"LavaX": 1}, "colour": 1})
    assert set(caught.value.problems) == {
        "$.enabled: expected true or false, got string 'yes'",
        "$.delay: delay must be at most 15m, got '20m'",
        "$.colour: unknown field",
        "$.prefix: 'a/b/' ends with '/': prefixes are matched by whole path components, so it would never match; "
        "write 'a/b'",
        "$.job_id[1]: 'bad id' is not a job id (letters, digits and _ . : @ / + - only)",
        "$.globals.LavaX: global names starting with 'lava' are reserved for lava",
        "$.if_size_gt: expected a size like '10M' or '2KiB', got '20k'",
    }
    assert str(caught.value).startswith("s3trigger 't': ")
    with pytest.raises(SpecError, match=r"\$.trigger_id: required field missing"):
        check_entry({"bucket": "b", "prefix": "*", "job_id": "j", "enabled": True})
    kept = check_entry({**entry("t", "*"), "x-owner-note": "kept"})
    assert kept.extras == {"x-owner-note": "kept"}


def test_rendered_job_ids_delay_lists_and_fleets(local, source):
    local.put_triggers([entry("T", "in", ["{{ 'j-' + key.split('/')[0] }}", "batchjob"], delay="2m",
                              globals={"k": "{{ key }}"})])
    report = run(source, local, s3_event("in/x.csv"))
    assert [(p.request.job_id, p.worker, float(p.request.delay)) for p in report.items[0].planned] == [
        ("j-in", "core", 120.0), ("batchjob", "batch", 120.0)]
    assert report.errors == []
    assert sent(local) == [] and sent(local, "batch") == []  # sent, but hidden for 2 minutes


def test_jinja_false_keeps_templates_literal(local, source):
    local.put_triggers([entry("T", "in", "j1", jinja=False, globals={"b": "{{bucket}}"})])
    run(source, local, s3_event("in/x.csv"))
    assert sent(local)[0]["globals"] == {"b": "{{bucket}}"}


def test_disabled_and_missing_target_jobs(local, source):
    local.put_triggers([entry("T", "in", ["off", "nope", "j1"])])
    report = run(source, local, s3_event("in/x.csv"))
    assert [b["job_id"] for b in sent(local)] == ["j1"]
    assert report.items[0].notes == ["s3trigger 'T': job 'off' is not enabled: not dispatched"]
    assert report.items[0].errors == ["s3trigger 'T': no such job 'nope' in realm 'local'"]


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ info.event_time.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{{ utils.path.join.__globals__['os'] }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_sandbox_escapes_are_refused_with_a_clear_error(local, source, template):
    local.put_triggers([entry("evil", "in", "j1", parameters={"x": template})])
    report = run(source, local, s3_event("in/x.csv"))
    assert sent(local) == []
    [problem] = report.items[0].errors
    assert problem.startswith("s3trigger 'evil': $.parameters.x: SecurityError: access to attribute")
    assert "is unsafe" in problem


def test_an_unsafe_attribute_on_its_own_is_refused_too(local, source):
    local.put_triggers([entry("T", "in", "j1", globals={"c": "{{ ''.__class__ }}"})])
    report = run(source, local, s3_event("in/x.csv"))
    assert sent(local) == []
    assert "SecurityError: access to attribute '__class__' of 'str' object is unsafe" in report.items[0].errors[0]


def test_duplicate_events_are_suppressed_across_instances(realm):
    realm.put_triggers([entry("T", "data", "j1")])
    first, second = (S3TriggerSource(S3TriggerSettings(cache_ttl=0, dedup_ttl=30)) for _ in range(2))
    assert run(first, realm, event("s3_via_sqs")).errors == []
    report = run(second, realm, event("s3_via_sns"))  # the same object event, delivered another way
    assert len(sent(realm)) == 1
    assert report.items[0].notes[0].startswith(f"duplicate event discarded: s3://in-bucket/{KEY} size 2000")
    run(second, realm, s3_event(KEY, size=2001))  # a different size is another event
    assert len(sent(realm)) == 1


def test_duplicate_suppression_is_off_by_default(local, source):
    local.put_triggers([entry("T", "data", "j1")])
    assert S3TriggerSettings.from_env({}).dedup_ttl == 0
    run(source, local, event("s3_direct"))
    run(S3TriggerSource(S3TriggerSettings(cache_ttl=0)), local, event("s3_direct"))
    assert len(sent(local)) == 2


def test_settings_from_the_environment():
    assert S3TriggerSettings.from_env({}) == S3TriggerSettings(cache_ttl=60, dedup_ttl=0)
    assert S3TriggerSettings.from_env({"LAVA_S3TRIGGER_CACHE_TTL": "0", "LAVA_S3TRIGGER_DEDUP_TTL": "2m"}) == \
        S3TriggerSettings(cache_ttl=0, dedup_ttl=120)
    assert S3TriggerSettings.from_env({"LAVA_S3TRIGGER_DEDUP_CACHE_SIZE": "100"}).dedup_ttl == 30


def test_query_results_are_cached_for_the_ttl(local):
    cached = S3TriggerSource(S3TriggerSettings(cache_ttl=60))
    local.put_triggers([entry("T", "in", "j1")])
    run(cached, local, s3_event("in/x.csv"))
    local.put_triggers([entry("T", "in", "j2")])
    run(cached, local, s3_event("in/x.csv"))
    run(S3TriggerSource(S3TriggerSettings(cache_ttl=0)), local, s3_event("in/x.csv"))
    assert [b["job_id"] for b in sent(local)] == ["j1", "j1", "j2"]


def test_sqs_batch_reports_only_the_failed_messages(realm, source):
    realm.put_triggers([entry("T", "data", "j1"), entry("R", "bad", "j2", globals={"g": "{{ x.y.z }}"})])
    batch = event("s3_via_sqs")
    good = batch["Records"][1]
    broken = {**good, "messageId": "not-s3", "body": "hello"}
    unrenderable = {**good, "messageId": "render", "body": good["body"].replace("data%2F", "bad%2F")}
    batch["Records"] = [good, broken, unrenderable]
    report = run(source, realm, batch)
    assert report.lambda_response() == {"batchItemFailures": [{"itemIdentifier": "not-s3"},
                                                              {"itemIdentifier": "render"}]}
    assert [b["job_id"] for b in sent(realm)] == ["j1"]
    assert report.items[2].errors == ["s3trigger 'R': $.globals.g: UndefinedError: 'x' is undefined"]
