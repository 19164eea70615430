"""The backend contract: every test in this folder runs on the local realm and on AWS (a moto server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from lava_core.backend import Backend
from lava_core.backend.local import LocalBackend


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    """The realm under test: ``[local]`` or ``[aws]`` in the test id."""
    return lava_backend


@pytest.fixture
def bus_events(realm: Backend) -> Callable[[], list[dict[str, Any]]]:
    """Events the realm published on its bus: the local table, or on AWS an EventBridge rule feeding a queue."""
    if isinstance(realm, LocalBackend):
        return realm.list_bus_events
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="bus-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="bus-capture", EventPattern=json.dumps({"source": [f"lava.{realm.realm_name}"]}))
    events.put_targets(Rule="bus-capture", Targets=[{"Id": "capture", "Arn": arn}])

    def captured() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return captured
