"""Records the event fixtures under ``events/`` from a real moto server.

Every fixture is what AWS services produced on moto for a real action: an
object put into a bucket whose notifications go to an SQS queue, to an SNS topic
(read back through an SQS subscription) and to EventBridge (a rule with an SQS
target); dispatch requests published to SNS, sent to SQS, and put on the event
bus. The messages read back are wrapped in the envelope the Lambda service adds
for an SQS or SNS event source (moto cannot run Lambda code, see
infra-notes §6). Regenerate with::

    .venv/bin/python -m tests.triggers.recorder
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import boto3

EVENTS = Path(__file__).resolve().parent / "events"
REGION = "us-east-1"
BUCKET = "in-bucket"
KEY = "data/in coming/file 1+2.csv"
SIZE = 2000
HELPER_TEXT = ("# dispatch requests, CLI style\n"
               "helper/a -p timeout=1h -p vars.location=Isabela -g country=Equador\n"
               "\n"
               "helper/b -d 3m\n"
               "helper/a -d 20m\n")
HELPER_BATCH = [
    "helper/a -g n=1",
    json.dumps([{"job_id": "helper/b", "globals": {"n": 1}}, {"job_id": "helper/a", "bogus": 1}]),
    "helper/nope -p x=1",
]
HELPER_DETAIL = {"job_id": "helper/a", "globals": {"order": "o-1"}}
HELPER_DIRECT = [{"job_id": "helper/b", "parameters": {"p": 1}, "delay": "30s"}, {"job_id": "helper/a"}]


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                        AttributeNames=["All"]).get("Messages", [])
        if len(messages) >= count:
            break
    return sorted(messages, key=lambda m: int(m["Attributes"]["SentTimestamp"]))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes for these received messages."""
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                         "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION}
                        for m in messages]}


def sns_event(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event Lambda's SNS trigger passes for this notification (read from an SQS subscription)."""
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn,
                         "Sns": {"Type": envelope["Type"], "MessageId": envelope["MessageId"],
                                 "TopicArn": envelope["TopicArn"], "Subject": envelope.get("Subject"),
                                 "Message": envelope["Message"], "Timestamp": envelope["Timestamp"],
                                 "SignatureVersion": envelope["SignatureVersion"],
                                 "Signature": envelope["Signature"], "SigningCertUrl": envelope["SigningCertURL"],
                                 "UnsubscribeUrl": envelope["UnsubscribeURL"], "MessageAttributes": {}}}]}


def record_s3() -> dict[str, Any]:
    s3, sqs, sns, events = (boto3.client(n, region_name=REGION) for n in ("s3", "sqs", "sns", "events"))
    direct_url, direct_arn = _queue(sqs, "rec-s3-direct")
    sns_url, sns_arn = _queue(sqs, "rec-s3-sns")
    bus_url, bus_arn = _queue(sqs, "rec-s3-eventbridge")
    topic = sns.create_topic(Name="rec-s3-topic")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_arn)["SubscriptionArn"]
    events.put_rule(Name="lava.test.s3", EventPattern=json.dumps({"source": ["aws.s3"],
                                                                  "detail-type": ["Object Created"]}))
    events.put_targets(Rule="lava.test.s3", Targets=[{"Id": "capture", "Arn": bus_arn}])
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": direct_arn, "Events": ["s3:ObjectCreated:*"]}],
        "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}],
        "EventBridgeConfiguration": {}})
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x" * SIZE)
    direct = _receive(sqs, direct_url, 2)  # s3:TestEvent first, then the object's event
    via_sns = [m for m in _receive(sqs, sns_url, 2) if "TestEvent" not in json.loads(m["Body"])["Message"]]
    bus = _receive(sqs, bus_url, 1)
    return {
        "s3_direct": json.loads(direct[-1]["Body"]),
        "s3_via_sqs": sqs_event(direct, direct_arn),
        "s3_via_sns": sns_event(json.loads(via_sns[0]["Body"]), subscription),
        "s3_eventbridge": json.loads(bus[0]["Body"]),
    }


def record_helper() -> dict[str, Any]:
    sqs, sns, events = (boto3.client(n, region_name=REGION) for n in ("sqs", "sns", "events"))
    sns_url, sns_arn = _queue(sqs, "rec-dispatch-sns")
    batch_url, batch_arn = _queue(sqs, "rec-dispatch-sqs")
    bus_url, bus_arn = _queue(sqs, "rec-dispatch-eventbridge")
    topic = sns.create_topic(Name="lava-test-dispatch")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message=HELPER_TEXT)
    for body in HELPER_BATCH:
        sqs.send_message(QueueUrl=batch_url, MessageBody=body)
    events.put_rule(Name="lava.test.orders", EventPattern=json.dumps({"source": ["my.shop"]}))
    events.put_targets(Rule="lava.test.orders", Targets=[{"Id": "capture", "Arn": bus_arn}])
    events.put_events(Entries=[{"Source": "my.shop", "DetailType": "Order Placed",
                                "Detail": json.dumps(HELPER_DETAIL), "Resources": []}])
    batch = _receive(sqs, batch_url, len(HELPER_BATCH))
    batch.sort(key=lambda m: HELPER_BATCH.index(m["Body"]))
    return {
        "helper_sns": sns_event(json.loads(_receive(sqs, sns_url, 1)[0]["Body"]), subscription),
        "helper_sqs_batch": sqs_event(batch, batch_arn),
        "helper_eventbridge": json.loads(_receive(sqs, bus_url, 1)[0]["Body"]),
        "helper_direct": HELPER_DIRECT,
    }


def record_all() -> dict[str, Any]:
    """Every fixture, freshly recorded on the moto server boto3 is pointed at."""
    return {**record_s3(), **record_helper()}


def load(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def main() -> None:
    from lava_core.motoserver import MotoServer, restore_environment, use_moto_server

    with tempfile.TemporaryDirectory() as tmp:
        server = MotoServer(Path(tmp) / "moto.log")
        server.start()
        saved = use_moto_server(server.endpoint)
        try:
            recorded = record_all()
        finally:
            restore_environment(saved)
            server.stop()
    EVENTS.mkdir(exist_ok=True)
    for name, event in recorded.items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {EVENTS / name}.json")


if __name__ == "__main__":
    main()
