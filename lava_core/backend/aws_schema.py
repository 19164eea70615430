"""The AWS resources of a realm, declared once.

``lava realm init --aws`` creates exactly these, the AWS backend addresses
them by these names, and a test checks that the CloudFormation templates under
``deploy/`` declare the same names, keys, indexes, TTL attributes and redrive
policies. Names and key layouts are lava's, so a worker can be pointed at an
existing lava realm's tables.
"""

from __future__ import annotations

import json
import re
from typing import Any

from attrs import define, field

from lava_core.errors import BackendError

REALMS_TABLE = "lava.realms"

# SQS long polls wait at most 20 s.
SQS_MAX_WAIT = 20
# lava's CloudFormation default; workers override it per receive and extend it while a job runs.
QUEUE_VISIBILITY_TIMEOUT = 3600
# Longer than lava's 1 day: a fleet that is down over a weekend must not lose its dispatches.
QUEUE_RETENTION = 4 * 86400
DEAD_LETTER_RETENTION = 14 * 86400
# The worker's own limit (``--retries``, ``max_tries``) acts first and records why; this
# backstop catches messages whose runs keep killing their workers before they can record anything.
DEFAULT_MAX_RECEIVES = 10
DEAD_LETTER_SUFFIX = "-dlq"


@define(frozen=True)
class IndexSpec:
    """A secondary index: its name, key attributes and what it projects."""

    name: str
    hash_key: str
    range_key: str | None = None
    projection: str = "ALL"
    non_key_attributes: tuple[str, ...] = ()

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def projection_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"ProjectionType": self.projection}
        if self.non_key_attributes:
            spec["NonKeyAttributes"] = list(self.non_key_attributes)
        return spec


@define(frozen=True)
class TableSpec:
    """One DynamoDB table of a realm. ``role`` is how the code refers to it (``jobs``, ``events``…)."""

    role: str
    hash_key: str
    range_key: str | None = None
    global_indexes: tuple[IndexSpec, ...] = ()
    local_indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None
    shared: bool = field(default=False)  # one table for all realms (lava.realms)

    def table_name(self, realm: str) -> str:
        return REALMS_TABLE if self.shared else f"lava.{realm}.{self.role}"

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def key_attributes(self) -> list[str]:
        """Every attribute used as a key by the table or one of its indexes (all strings)."""
        names = [self.hash_key, *([self.range_key] if self.range_key else [])]
        for index in (*self.global_indexes, *self.local_indexes):
            names += [index.hash_key, *([index.range_key] if index.range_key else [])]
        return list(dict.fromkeys(names))

    def create_arguments(self, realm: str) -> dict[str, Any]:
        """Keyword arguments of DynamoDB ``CreateTable`` for this table (on-demand billing)."""
        args: dict[str, Any] = {
            "TableName": self.table_name(realm),
            "KeySchema": self.key_schema(),
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in self.key_attributes()],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.global_indexes:
            args["GlobalSecondaryIndexes"] = [
                {"IndexName": i.name, "KeySchema": i.key_schema(), "Projection": i.projection_spec()}
                for i in self.global_indexes]
        if self.local_indexes:
            args["LocalSecondaryIndexes"] = [
                {"IndexName": i.name, "KeySchema": i.key_schema(), "Projection": i.projection_spec()}
                for i in self.local_indexes]
        return args


DISPATCHER_INDEX = "dispatcher-index"
EVENTS_RUN_INDEX = "run_id-index"
EVENTS_TIME_INDEX = "job_id-tu_event-index"
S3TRIGGER_INDEX = "s3trigger-index"

TABLES: tuple[TableSpec, ...] = (
    TableSpec("realms", "realm", shared=True),
    TableSpec("jobs", "job_id", global_indexes=(
        IndexSpec(DISPATCHER_INDEX, "dispatcher", "job_id", "INCLUDE", ("worker", "schedule")),)),
    TableSpec("connections", "conn_id"),
    TableSpec("events", "job_id", "run_id",
              local_indexes=(IndexSpec(EVENTS_TIME_INDEX, "job_id", "tu_event"),),
              # Not in lava: finds a run by its id alone (``lava events --run``, ``lava output get``).
              # Optional: without it those lookups fall back to a scan.
              global_indexes=(IndexSpec(EVENTS_RUN_INDEX, "run_id", projection="KEYS_ONLY"),),
              ttl_attribute="ttl"),
    TableSpec("s3triggers", "trigger_id", global_indexes=(IndexSpec(S3TRIGGER_INDEX, "bucket", "prefix"),)),
    TableSpec("state", "state_id", ttl_attribute="ttl"),
)

TABLES_BY_ROLE = {t.role: t for t in TABLES}


# SQS queue names are at most 80 characters of [A-Za-z0-9_-]: "lava-" + realm + "-" + fleet + "-dlq".
_REALM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_FLEET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,30}$")


def check_names(realm: str, fleets: list[str] | tuple[str, ...] = ()) -> None:
    """Refuse realm and fleet names that cannot name a queue or a table (BackendError naming the rule)."""
    if not _REALM_NAME.match(realm or ""):
        msg = f"bad realm name {realm!r}: 1-40 letters, digits, '-' or '_'"
        raise BackendError(msg)
    for fleet in fleets:
        if not _FLEET_NAME.match(fleet or ""):
            msg = f"bad fleet name {fleet!r} for an AWS realm: 1-30 letters, digits, '-' or '_'"
            raise BackendError(msg)


def queue_name(realm: str, fleet: str) -> str:
    """lava's queue name of a worker fleet."""
    return f"lava-{realm}-{fleet}"


def dead_letter_queue_name(realm: str, fleet: str) -> str:
    return queue_name(realm, fleet) + DEAD_LETTER_SUFFIX


def queue_attributes(dead_letter_arn: str, max_receives: int = DEFAULT_MAX_RECEIVES) -> dict[str, str]:
    """``CreateQueue`` attributes of a fleet queue whose dead letters go to ``dead_letter_arn``."""
    return {
        "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT),
        "MessageRetentionPeriod": str(QUEUE_RETENTION),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives}),
    }


def dead_letter_queue_attributes() -> dict[str, str]:
    return {"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION), "SqsManagedSseEnabled": "true"}


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema
