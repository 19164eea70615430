"""The sqs and sns actions against SQS and SNS on the real moto server.

The jobs run on a local realm: the actions use the worker's default AWS
credentials and endpoint, which the ``lava_moto_server`` fixture points at the
moto server. Queues and topics have names unique to each test (other tests
reset the server between theirs).
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs


@pytest.fixture
def sqs(lava_moto_server):
    return boto3.client("sqs")


def new_queue(sqs, suffix="", **attributes):
    name = f"act-{uuid.uuid4().hex[:8]}{suffix}"
    return name, sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def read(sqs, url, wait=0):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                               AttributeNames=["All"]).get("Messages", [])


def run(realm, spec, **request):
    put_jobs(realm, spec)
    run_id = send(realm, DispatchRequest(job_id=spec["job_id"], **request)).run_id
    drain(realm)
    return realm.get_event(spec["job_id"], run_id), run_id


def test_sqs_by_name_by_full_url_and_map_message_rendered_leaf_by_leaf(lava_realm, sqs):
    name, url = new_queue(sqs)
    event, run_id = run(lava_realm, {"job_id": "q/send", "type": "cmd", "payload": "echo 'say \"hi\"'", "on_success": [
        {"action": "sqs", "queue": "{{ globals.queue }}", "message": "done {{ run_id }}"},
        {"action": "sqs", "queue": url, "message": {"job": "{{ job.job_id }}", "quote": '{{ globals.q }}',
                                                     "n": 3, "exit": "{{ result.exit_status }}"}},
    ]}, globals={"queue": name, "q": 'a "quoted" \\ value'})
    assert [e.status for e in event.log] == ["starting", "running", "complete"]
    done, data = sorted(m["Body"] for m in read(sqs, url))
    assert done == f"done {run_id}"
    assert json.loads(data) == {"job": "q/send", "quote": 'a "quoted" \\ value', "n": 3, "exit": "0"}


def test_sqs_fifo_ids_and_delay(lava_realm, sqs):
    _, fifo = new_queue(sqs, ".fifo", FifoQueue="true")
    name, plain = new_queue(sqs)
    event, run_id = run(lava_realm, {"job_id": "q/fifo", "type": "cmd", "payload": "true", "on_success": [
        {"action": "sqs", "queue": fifo, "message": "one", "dedup_id": "{{ run_id }}", "group_id": "g-{{ status }}"},
        {"action": "sqs", "queue": fifo, "message": "two", "dedup_id": "{{ run_id }}-2"},
        {"action": "sqs", "queue": name, "message": "later", "delay": "{{ '2s' }}"},
    ]})
    assert event.status == "complete" and len(event.log) == 3, event.log
    messages = read(sqs, fifo)
    assert [m["Body"] for m in messages] == ["one", "two"]
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == ["g-complete", "q/fifo"]  # default: the job id
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == run_id
    assert read(sqs, plain) == []  # delayed
    assert [m["Body"] for m in read(sqs, plain, wait=5)] == ["later"]


def test_sns_publish_reaches_a_subscribed_queue(lava_realm, sqs):
    sns = boto3.client("sns")
    topic = sns.create_topic(Name=f"act-{uuid.uuid4().hex[:8]}")["TopicArn"]
    _, url = new_queue(sqs)
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    event, _ = run(lava_realm, {"job_id": "n/fail", "type": "cmd", "payload": "exit 5", "on_fail": [
        {"action": "sns", "topic": "{{ globals.topic }}", "subject": "{{ job.job_id }} {{ status }}\n" + "x" * 200,
         "message": {"error": "{{ result.error }}", "run": "{{ run_id }}"}},
    ]}, globals={"topic": topic})
    assert [e.status for e in event.log] == ["starting", "running", "failed"]
    (message,) = read(sqs, url)
    note = json.loads(message["Body"])  # SNS's envelope around the published message
    assert note["TopicArn"] == topic
    assert note["Subject"] == ("n/fail failed " + "x" * 200)[:100]
    assert json.loads(note["Message"])["error"] == "Failed with exit status 5"


def test_aws_failures_name_the_queue_or_topic(lava_realm, sqs):
    event, _ = run(lava_realm, {"job_id": "q/bad", "type": "cmd", "payload": "true", "on_success": [
        {"action": "sqs", "queue": "no-such-queue", "message": "m"},
        {"action": "sqs", "queue": "{{ '' }}", "message": "m"},
        {"action": "sns", "topic": "my-topic", "message": "m"},
        {"action": "sns", "topic": "arn:aws:sns:us-east-1:123456789012:missing", "message": "m"},
        {"action": "sqs", "queue": "no-such-queue", "message": "{{ '' }}"},
    ]})
    assert event.status == "complete"
    assert [e.info for e in event.log if e.status == "action_failed"] == [
        "on_success action 0 (sqs): queue 'no-such-queue' does not exist (or this worker's credentials cannot "
        "see it): AWS.SimpleQueueService.NonExistentQueue",
        "on_success action 1 (sqs): queue: rendered to an empty string",
        "on_success action 2 (sns): topic: expected a topic ARN like arn:aws:sns:REGION:ACCOUNT:NAME, got 'my-topic'",
        "on_success action 3 (sns): topic 'arn:aws:sns:us-east-1:123456789012:missing' does not exist (or this "
        "worker's credentials cannot see it): NotFound",
        "on_success action 4 (sqs): message: rendered to an empty string; SQS needs a non-empty body",
    ]
