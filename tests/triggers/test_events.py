"""S3 events into the canonical info record, for every delivery path (recorded fixtures)."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

import pytest

from lava_triggers.envelope import deliveries
from lava_triggers.s3events import S3EventError, canonical_event_type, s3_events

from tests.triggers.conftest import event
from tests.triggers.recorder import KEY, load, record_all

PATHS = {"s3_direct": "s3", "s3_via_sqs": "sqs", "s3_via_sns": "sns", "s3_eventbridge": "eventbridge"}


def infos(name):
    found = []
    for delivery in deliveries(event(name)):
        events, _ = s3_events(delivery.body)
        found += [(delivery, info) for _, info in events]
    return found


@pytest.mark.parametrize("name", PATHS)
def test_every_delivery_path_gives_the_same_canonical_info(name):
    [(delivery, info)] = infos(name)
    assert delivery.via == PATHS[name]
    assert (info.bucket, info.key, info.size, info.aws_region) == ("in-bucket", KEY, 2000, "us-east-1")
    assert info.key == "data/in coming/file 1+2.csv"  # moto sent data%2Fin+coming%2Ffile+1%2B2.csv
    assert info.event_time.tzinfo is not None
    assert abs(info.event_time - infos("s3_direct")[0][1].event_time).total_seconds() < 2


def test_notification_fields():
    [(_, info)] = infos("s3_via_sqs")
    assert info.event_type == "ObjectCreated:Put"  # eventName as it is
    assert info.source_ip is None  # moto's notifications carry no requestParameters


def test_eventbridge_fields():
    [(delivery, info)] = infos("s3_eventbridge")
    assert delivery.item_id == load("s3_eventbridge")["id"]
    # moto puts "ObjectCreated" in detail.reason where AWS puts the API call ("PutObject")
    assert info.event_type == "ObjectCreated:ObjectCreated"
    assert info.source_ip == ipaddress.IPv4Address("1.2.3.4")
    assert info.event_time == datetime.fromisoformat(load("s3_eventbridge")["time"])


def test_eventbridge_event_type_is_detail_type_and_reason_without_whitespace():
    data = event("s3_eventbridge")
    data["detail"]["reason"] = "PutObject"
    [(_, info)] = s3_events(data)[0]
    assert info.event_type == "ObjectCreated:PutObject"
    assert canonical_event_type("Object Restore\tCompleted", " Restore Object") == "ObjectRestoreCompleted:RestoreObject"


def test_eventbridge_keys_are_not_url_decoded():
    data = event("s3_eventbridge")
    data["detail"]["object"]["key"] = "a+b%20c"
    assert s3_events(data)[0][0][1].key == "a+b%20c"


def test_ipv6_source_and_epoch_time():
    data = event("s3_direct")
    data["Records"][0]["requestParameters"] = {"sourceIPAddress": "2001:db8::1"}
    data["Records"][0]["eventTime"] = 0
    [(_, info)] = s3_events(data)[0]
    assert info.source_ip == ipaddress.IPv6Address("2001:db8::1")
    assert info.event_time == datetime(1970, 1, 1, tzinfo=UTC)


def test_test_event_is_skipped_with_a_note():
    first = deliveries(event("s3_via_sqs"))[0]
    found, notes = s3_events(first.body)
    assert found == []
    assert notes == ["s3:TestEvent for bucket 'in-bucket' ignored"]


@pytest.mark.parametrize("body", ['"just text"', "not json", json.dumps({"detail-type": "X", "source": "my.app",
                                                                              "detail": {}})])
def test_bodies_that_are_not_s3_events_are_errors(body):
    with pytest.raises(S3EventError):
        s3_events(body)


def shape(value, path="$"):
    """Every key path in a JSON value, with JSON strings inside it decoded too."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return shape(json.loads(value), path + "<json>")
        except json.JSONDecodeError:
            return {path}
    if isinstance(value, dict):
        return {path} | set().union(*(shape(v, f"{path}.{k}") for k, v in value.items()))
    if isinstance(value, list):
        return {path} | set().union(*(shape(v, f"{path}[]") for v in value))
    return {path}


def test_recorded_fixtures_match_what_moto_produces_now(lava_moto_server):
    lava_moto_server.reset()
    fresh = record_all()
    for name, value in fresh.items():
        assert shape(value) == shape(load(name)), f"{name}: the recorded fixture no longer matches moto"
    for name in PATHS:
        assert [i.key for _, i in infos(name)] == [KEY]
