"""``lava realm init --aws``: create a realm's AWS resources, idempotently.

For development and small installs. Production installs deploy the same
resources from the CloudFormation templates under ``deploy/``; a test keeps
the two in step through :mod:`aws_schema`.
"""

from __future__ import annotations

from typing import Any

import boto3
from attrs import define
from botocore.exceptions import ClientError

from lava_core.backend.aws_items import to_item
from lava_core.backend.aws_queues import error_code
from lava_core.backend.aws_schema import (
    DEFAULT_MAX_RECEIVES,
    TABLES,
    TableSpec,
    dead_letter_queue_attributes,
    check_names,
    dead_letter_queue_name,
    queue_attributes,
    queue_name,
)
from lava_core.convert import unstructure
from lava_core.records import Realm

CREATED = "created"
EXISTS = "exists"


@define(frozen=True)
class Resource:
    """One resource ``realm init`` looked at: what it is, its name, and what was done."""

    kind: str
    name: str
    status: str
    detail: str = ""


def default_prefix(realm: str) -> str:
    return f"lava/{realm}"


def init_aws_realm(realm: str, *, bucket: str, prefix: str | None = None, fleets: list[str] | tuple[str, ...] = (),
                   max_receives: int = DEFAULT_MAX_RECEIVES,
                   session: boto3.session.Session | None = None) -> list[Resource]:
    """Create the tables, bucket, fleet queues (with dead-letter queues) and realm record of ``realm``.

    Anything that exists already is left as it is (and reported as ``exists``).
    """
    check_names(realm, fleets)
    session = session or boto3.session.Session()
    dynamodb = session.client("dynamodb")
    done = [_ensure_table(dynamodb, spec, realm) for spec in TABLES]
    done.append(_ensure_bucket(session.client("s3"), bucket))
    sqs = session.client("sqs")
    for fleet in fleets:
        done += _ensure_fleet_queues(sqs, realm, fleet, max_receives)
    root = "/".join(p for p in (bucket, (prefix if prefix is not None else default_prefix(realm)).strip("/")) if p)
    record = Realm(realm=realm, s3_payloads=f"s3://{root}/payloads", s3_temp=f"s3://{root}/temp")
    done.append(_ensure_realm_record(dynamodb, record))
    return done


def _ensure_table(dynamodb: Any, spec: TableSpec, realm: str) -> Resource:
    name = spec.table_name(realm)
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        table = None
    if table is None:
        dynamodb.create_table(**spec.create_arguments(realm))
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        status, detail = CREATED, _keys_text(spec)
    else:
        status, detail = EXISTS, _difference(table, spec)
    if spec.ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"} and ttl.get("AttributeName") != spec.ttl_attribute:
            detail = f"{detail}; WARNING: TTL is on {ttl.get('AttributeName')!r}, lava writes {spec.ttl_attribute!r}"
        elif ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": spec.ttl_attribute})
            detail = f"{detail}; TTL on {spec.ttl_attribute!r} enabled".lstrip("; ")
    return Resource("dynamodb table", name, status, detail)


def _keys_text(spec: TableSpec) -> str:
    keys = spec.hash_key + (f" + {spec.range_key}" if spec.range_key else "")
    indexes = [i.name for i in (*spec.global_indexes, *spec.local_indexes)]
    return f"key {keys}" + (f"; indexes {', '.join(indexes)}" if indexes else "")


def _difference(table: dict[str, Any], spec: TableSpec) -> str:
    """What an existing table lacks compared with what lava expects (empty when it matches)."""
    notes = []
    if table.get("KeySchema") != spec.key_schema():
        notes.append(f"WARNING: key schema {table.get('KeySchema')} differs from the expected {spec.key_schema()}")
    present = {i["IndexName"]: i for i in (*table.get("GlobalSecondaryIndexes", []),
                                           *table.get("LocalSecondaryIndexes", []))}
    missing = [i.name for i in (*spec.global_indexes, *spec.local_indexes) if i.name not in present]
    if missing:
        notes.append(f"missing index(es) {', '.join(missing)}")
    for index in (*spec.global_indexes, *spec.local_indexes):
        found = present.get(index.name)
        if found is not None and found.get("KeySchema") != index.key_schema():
            notes.append(f"WARNING: index {index.name} has keys {found.get('KeySchema')}, expected {index.key_schema()}")
    return "; ".join(notes)


def _ensure_bucket(s3: Any, bucket: str) -> Resource:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        region = s3.meta.region_name
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)
        return Resource("s3 bucket", bucket, CREATED)
    return Resource("s3 bucket", bucket, EXISTS)


def _ensure_fleet_queues(sqs: Any, realm: str, fleet: str, max_receives: int) -> list[Resource]:
    dlq_name = dead_letter_queue_name(realm, fleet)
    dlq_url = _queue_url(sqs, dlq_name)
    dlq_status = EXISTS if dlq_url else CREATED
    if dlq_url is None:
        dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes=dead_letter_queue_attributes())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = queue_name(realm, fleet)
    url = _queue_url(sqs, name)
    if url is None:
        sqs.create_queue(QueueName=name, Attributes=queue_attributes(dlq_arn, max_receives))
        queue = Resource("sqs queue", name, CREATED, f"dead letters to {dlq_name} after {max_receives} receives")
    else:
        redrive = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        # An existing queue (lava's own template makes none with a redrive) is left as it is; say what it lacks.
        detail = "" if redrive.get("RedrivePolicy") else (
            "no redrive policy: only the worker dead-letters (add one with the fleet template in deploy/)")
        queue = Resource("sqs queue", name, EXISTS, detail)
    return [Resource("sqs queue", dlq_name, dlq_status), queue]


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if error_code(exc) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise
        return None


def _ensure_realm_record(dynamodb: Any, record: Realm) -> Resource:
    data = {k: v for k, v in unstructure(record).items() if v not in (None, {}, [])}
    try:
        dynamodb.put_item(TableName="lava.realms", Item=to_item(data),
                          ConditionExpression="attribute_not_exists(realm)")
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return Resource("realm record", record.realm, EXISTS, "kept as it is")
    return Resource("realm record", record.realm, CREATED,
                    f"payloads {record.s3_payloads}, outputs {record.s3_temp}")
