"""The dispatch helper through its Lambda handler: recorded SNS, SQS, EventBridge and direct events."""

from __future__ import annotations

import json

import pytest

from lava_triggers import DispatchHelperSource
from lava_triggers.dispatch_helper import handler

from tests.triggers.conftest import event, sent, strip
from tests.triggers.recorder import HELPER_TEXT


@pytest.fixture
def lambda_realm(realm, cold_lambda, monkeypatch):
    """LAVA_REALM as a deployed function has it: the bare name for AWS, the folder for a local realm."""
    monkeypatch.setenv("LAVA_REALM", "test" if realm.describe().startswith("aws://") else realm.describe())
    return realm


def test_sns_cli_lines(lambda_realm):
    evt = event("helper_sns")
    answer = handler(evt, None)
    message_id = evt["Records"][0]["Sns"]["MessageId"]
    assert [s["job_id"] for s in answer["dispatched"]] == ["helper/a", "helper/b"]
    assert answer["errors"] == [f"sns message {message_id}: line 5: delay: delay must be at most 15m, got '20m'"]
    [body] = sent(lambda_realm)  # helper/b waits 3 minutes
    assert strip(body) == {"realm": lambda_realm.realm_name, "worker": "core", "job_id": "helper/a",
                           "parameters": {"timeout": "1h", "vars": {"location": "Isabela"}},
                           "globals": {"country": "Equador"}}


def test_sqs_batch_reports_only_failed_messages(lambda_realm):
    evt = event("helper_sqs_batch")
    ids = [r["messageId"] for r in evt["Records"]]
    answer = handler(evt, None)
    # message 2 holds one bad item (and one good); message 3 names a job that does not exist
    assert answer == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}
    assert [strip(b) for b in sent(lambda_realm)] == [
        {"realm": lambda_realm.realm_name, "worker": "core", "job_id": "helper/a", "globals": {"n": "1"}},
        {"realm": lambda_realm.realm_name, "worker": "core", "job_id": "helper/b", "globals": {"n": 1}},
    ]


def test_a_retried_message_does_not_dispatch_its_good_requests_again(lambda_realm):
    evt = event("helper_sqs_batch")
    handler(evt, None)
    sent(lambda_realm)
    retry = evt["Records"][1]
    retry["attributes"]["ApproximateReceiveCount"] = "2"
    answer = handler({"Records": [retry]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": retry["messageId"]}]}  # the bad item is still bad
    assert sent(lambda_realm) == []
    report = DispatchHelperSource().explain({"Records": [retry]}, backend=lambda_realm, dry_run=False)
    report.send(lambda_realm)
    assert report.items[0].notes == ["helper/b: already dispatched by an earlier delivery of this message, "
                                     "not sent again"]
    assert report.items[0].errors == ["$[1].bogus: unknown field"]


def test_eventbridge_detail_is_the_request(lambda_realm):
    answer = handler(event("helper_eventbridge"), None)
    assert answer["errors"] == []
    assert [strip(b) for b in sent(lambda_realm)] == [
        {"realm": lambda_realm.realm_name, "worker": "core", "job_id": "helper/a", "globals": {"order": "o-1"}}]


def test_direct_invocation(lambda_realm):
    answer = handler(event("helper_direct"), None)
    assert answer["errors"] == []
    assert [s["job_id"] for s in answer["dispatched"]] == ["helper/b", "helper/a"]
    assert [b["job_id"] for b in sent(lambda_realm)] == ["helper/a"]  # helper/b waits 30s


def test_missing_realm_is_a_clear_error(cold_lambda, monkeypatch):
    monkeypatch.delenv("LAVA_REALM", raising=False)
    with pytest.raises(Exception, match="LAVA_REALM is not set"):
        handler(event("helper_direct"), None)


def plan(evt, backend):
    report = DispatchHelperSource().explain(evt, backend=backend)
    return [(p.request.job_id, p.request.parameters, p.request.globals, float(p.request.delay))
            for i in report.items for p in i.planned], report.errors


def test_more_shapes(local):
    eventbridge = event("helper_eventbridge")
    eventbridge["detail"] = {"requests": "helper/a -p x=1\nhelper/b -p bad"}
    assert plan(eventbridge, local) == ([("helper/a", {"x": "1"}, {}, 0.0)], [
        f"eventbridge message {eventbridge['id']}: $.detail.requests: line 2: expected NAME=VALUE, got 'bad'"])
    eventbridge["detail"] = {"requests": [{"job_id": "helper/a", "delay": "1m"}, {"jobid": "x"}]}
    requests, errors = plan(eventbridge, local)
    assert requests == [("helper/a", {}, {}, 60.0)]
    assert any("$.detail.requests[1].jobid: unknown field" in e for e in errors)
    eventbridge["detail"] = {"AutoScalingGroupName": "g"}
    assert "holds no dispatch request" in plan(eventbridge, local)[1][0]
    # an EventBridge rule with an SQS target, read by the helper from that queue
    via_sqs = event("helper_sqs_batch")
    via_sqs["Records"] = [{**via_sqs["Records"][0], "body": json.dumps(event("helper_eventbridge"))}]
    assert plan(via_sqs, local) == ([("helper/a", {}, {"order": "o-1"}, 0.0)], [])
    # an SNS subscription without raw delivery: the SQS body is SNS's envelope
    envelope = {"Type": "Notification", "MessageId": "m", "Message": HELPER_TEXT}
    via_sqs["Records"][0]["body"] = json.dumps(envelope)
    requests, errors = plan(via_sqs, local)
    assert [r[0] for r in requests] == ["helper/a", "helper/b"] and len(errors) == 1
    assert DispatchHelperSource().explain(via_sqs, backend=local).items[0].delivery.via == "sqs+sns"
    assert plan("helper/a -g x=1", local) == ([("helper/a", {}, {"x": "1"}, 0.0)], [])
    assert plan({"requests": ["helper/b"]}, local)[1] == [
        "direct event: $.requests[0]: expected a request map with job_id, got str"]
    assert "not a dispatch request" in plan({"hello": 1}, local)[1][0]
