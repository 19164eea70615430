"""The AWS realm: DynamoDB tables, SQS fleet queues, S3 payloads and outputs, EventBridge.

boto3 finds credentials, region and endpoint (``AWS_ENDPOINT_URL``) in the
usual places. Names and item layouts are lava's (see :mod:`aws_schema`).

Cost per simple job run, in API calls (``bench/throughput.py`` counts them):
the dispatch sends one message (plus one job read when the fleet is not
given); the worker receives it, reads the job, writes the run's events in one
``UpdateItem`` when the job finishes within the hold time, stores non-empty
outputs, and deletes the message.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from lava_core.backend.aws_items import entry_to_dict, event_from_item, from_item, to_attribute, to_item
from lava_core.backend.aws_queues import SqsQueues, error_code, encode_body
from lava_core.backend.aws_schema import (
    DISPATCHER_INDEX,
    EVENTS_RUN_INDEX,
    EVENTS_TIME_INDEX,
    S3TRIGGER_INDEX,
    TABLES_BY_ROLE,
    check_names,
)
from lava_core.backend.base import Backend, DeadLetter, ReceivedMessage
from lava_core.convert import structure, unstructure
from lava_core.errors import BackendError, RealmNotFound
from lava_core.records import Event, EventEntry, Realm

# Long polls last up to 20 s: the read timeout must outlast them.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50,
                        connect_timeout=5, read_timeout=30)


class AwsBackend(Backend):
    """A realm on AWS named ``realm_name``; its realm record must exist (``lava realm init --aws``)."""

    drain_poll_wait = 1.0

    def __init__(self, realm_name: str, *, session: boto3.session.Session | None = None) -> None:
        check_names(realm_name)
        self.realm_name = realm_name
        self.api_calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._session = session or boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.dynamodb = self._client("dynamodb")
        self._realm = self._read_realm()
        self._payloads = _S3Area(self._realm.s3_payloads, "s3_payloads")
        self._outputs = _S3Area(self._realm.s3_temp, "s3_temp")
        self._queues: SqsQueues | None = None

    @property
    def s3(self) -> Any:
        return self._client("s3")

    @property
    def queues(self) -> SqsQueues:
        """The realm's fleet queues (the SQS client is made on first use: most commands need none)."""
        if self._queues is None:
            self._queues = SqsQueues(self._client("sqs"), self.realm_name)
        return self._queues

    def _client(self, service: str) -> Any:
        """One client per service, made on first use (boto3 clients are thread-safe; making one is not cheap)."""
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = self._new_client(service)
        return client

    def _new_client(self, service: str) -> Any:
        client = self._session.client(service, config=_CLIENT_CONFIG)
        client.meta.events.register("before-call", self._count_call)
        if service == "sqs":
            client.meta.events.register("after-call.sqs.ReceiveMessage", self._count_empty_receive)
        return client

    def _count_call(self, model: Any, **_: Any) -> None:
        with self._count_lock:
            self.api_calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _count_empty_receive(self, parsed: dict[str, Any], **_: Any) -> None:
        # Idle polls are a cost of waiting, not of running: counted apart so benchmarks can tell.
        if not parsed.get("Messages"):
            with self._count_lock:
                self.api_calls["sqs.ReceiveMessage(empty)"] += 1

    def table(self, role: str) -> str:
        """The DynamoDB table name of a realm table (``jobs``, ``events``…)."""
        return TABLES_BY_ROLE[role].table_name(self.realm_name)

    def describe(self) -> str:
        return f"aws://{self.realm_name}"

    # ------------------------------------------------------------------ realm record
    def _read_realm(self) -> Realm:
        try:
            item = self.dynamodb.get_item(TableName=self.table("realms"), Key={"realm": {"S": self.realm_name}},
                                          ConsistentRead=True).get("Item")
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            item = None
        if item is None:
            msg = (f"no lava realm {self.realm_name!r} in table lava.realms "
                   f"(create it with `lava realm init --aws {self.realm_name} --bucket BUCKET`)")
            raise RealmNotFound(msg)
        return structure(from_item(item), Realm, source="realm record")

    def get_realm(self) -> Realm:
        return self._realm

    def put_realm(self, realm: Realm) -> None:
        data = {k: v for k, v in unstructure(realm).items() if v is not None}
        self.dynamodb.put_item(TableName=self.table("realms"), Item=to_item(data))
        self._realm = realm

    # ------------------------------------------------------------------ jobs
    def put_jobs(self, specs: list[dict[str, Any]]) -> None:
        self._batch_put(self.table("jobs"), specs)

    def _batch_put(self, table: str, items: list[dict[str, Any]]) -> None:
        """Write items 25 at a time (BatchWriteItem's limit), retrying what DynamoDB leaves unprocessed."""
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in items]
        for start in range(0, len(requests), 25):
            pending = {table: requests[start:start + 25]}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table("jobs"), Key={"job_id": {"S": job_id}},
                                      ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def list_jobs(self) -> list[dict[str, Any]]:
        items = self._scan(self.table("jobs"))
        return sorted((from_item(i) for i in items), key=lambda s: s["job_id"])

    def jobs_of_dispatcher(self, dispatcher: str) -> list[dict[str, Any]]:
        # The index projects only worker and schedule: it gives the ids, a batch read the specs.
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table("jobs"), IndexName=DISPATCHER_INDEX, KeyConditionExpression="#d = :d",
            ExpressionAttributeNames={"#d": "dispatcher"}, ExpressionAttributeValues={":d": {"S": dispatcher}},
            ProjectionExpression="job_id")
        keys = [{"job_id": i["job_id"]} for page in pages for i in page.get("Items", [])]
        specs = [from_item(i) for i in self._batch_get(self.table("jobs"), keys)]
        return sorted(specs, key=lambda s: s["job_id"])

    def _batch_get(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Items by key, 100 at a time (BatchGetItem's limit), retrying what DynamoDB leaves unprocessed."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {table: {"Keys": keys[start:start + 100], "ConsistentRead": True}}
            while pending:
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                items += response["Responses"].get(table, [])
                pending = response.get("UnprocessedKeys") or {}
        return items

    def delete_job(self, job_id: str) -> bool:
        response = self.dynamodb.delete_item(TableName=self.table("jobs"), Key={"job_id": {"S": job_id}},
                                             ReturnValues="ALL_OLD")
        return "Attributes" in response

    # ------------------------------------------------------------------ events
    def record_event(self, job_id: str, run_id: str, entries: list[EventEntry], fields: dict[str, Any]) -> None:
        # lava's update: set the top-level fields, append to log; one call, no read.
        names = {"#log": "log"}
        values: dict[str, Any] = {":entries": to_attribute([entry_to_dict(e) for e in entries]),
                                  ":empty": {"L": []}}
        sets = []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = to_attribute(value, where=f"$.{name}")
            sets.append(f"#f{i} = :f{i}")
        sets.append("#log = list_append(if_not_exists(#log, :empty), :entries)")
        self.dynamodb.update_item(TableName=self.table("events"),
                                  Key={"job_id": {"S": job_id}, "run_id": {"S": run_id}},
                                  UpdateExpression="SET " + ", ".join(sets),
                                  ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def get_event(self, job_id: str, run_id: str) -> Event | None:
        item = self.dynamodb.get_item(TableName=self.table("events"),
                                      Key={"job_id": {"S": job_id}, "run_id": {"S": run_id}},
                                      ConsistentRead=True).get("Item")
        return event_from_item(item) if item else None

    def query_events(self, *, job_id: str | None = None, run_id: str | None = None,
                     status: str | None = None, limit: int = 100) -> list[Event]:
        if job_id is not None and run_id is not None:
            event = self.get_event(job_id, run_id)
            found = [event] if event is not None and status in (None, event.status) else []
        elif job_id is not None:
            found = self._events_of_job(job_id, status, limit)
        elif run_id is not None:
            found = [e for e in self._events_of_run(run_id) if status in (None, e.status)]
        else:
            filters = {"FilterExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
                       "ExpressionAttributeValues": {":s": {"S": status}}} if status else {}
            found = [event_from_item(i) for i in self._scan(self.table("events"), **filters)]
        return sorted(found, key=lambda e: e.tu_event, reverse=True)[:limit]

    def _events_of_job(self, job_id: str, status: str | None, limit: int) -> list[Event]:
        args: dict[str, Any] = {
            "TableName": self.table("events"), "IndexName": EVENTS_TIME_INDEX, "ScanIndexForward": False,
            "KeyConditionExpression": "job_id = :j", "ExpressionAttributeValues": {":j": {"S": job_id}}}
        if status is not None:
            args["FilterExpression"] = "#s = :s"
            args["ExpressionAttributeNames"] = {"#s": "status"}
            args["ExpressionAttributeValues"][":s"] = {"S": status}
        found: list[Event] = []
        for page in self.dynamodb.get_paginator("query").paginate(**args):
            found += [event_from_item(i) for i in page.get("Items", [])]
            if len(found) >= limit:
                break
        return found

    def _events_of_run(self, run_id: str) -> list[Event]:
        try:
            pages = self.dynamodb.get_paginator("query").paginate(
                TableName=self.table("events"), IndexName=EVENTS_RUN_INDEX,
                KeyConditionExpression="run_id = :r", ExpressionAttributeValues={":r": {"S": run_id}})
            keys = [{"job_id": i["job_id"], "run_id": i["run_id"]} for page in pages for i in page.get("Items", [])]
        except ClientError as exc:
            if error_code(exc) != "ValidationException":
                raise
            # A lava realm made without the run_id index: scan instead (slow on big tables).
            items = self._scan(self.table("events"), FilterExpression="run_id = :r",
                               ExpressionAttributeValues={":r": {"S": run_id}})
            return [event_from_item(i) for i in items]
        return [event_from_item(i) for i in self._batch_get(self.table("events"), keys)]

    def _scan(self, table: str, **filters: Any) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True, **filters)
        return [item for page in pages for item in page.get("Items", [])]

    # ------------------------------------------------------------------ state
    def put_state_item(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.table("state"), Item=to_item(item))

    def get_state_item(self, state_id: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(TableName=self.table("state"), Key={"state_id": {"S": state_id}},
                                       ConsistentRead=True).get("Item")
        return from_item(found) if found else None

    def list_state_items(self, prefix: str = "") -> list[dict[str, Any]]:
        filters = {"FilterExpression": "begins_with(state_id, :p)",
                   "ExpressionAttributeValues": {":p": {"S": prefix}}} if prefix else {}
        return [from_item(i) for i in self._scan(self.table("state"), **filters)]

    def delete_state_item(self, state_id: str) -> bool:
        response = self.dynamodb.delete_item(TableName=self.table("state"), Key={"state_id": {"S": state_id}},
                                             ReturnValues="ALL_OLD")
        return "Attributes" in response

    def claim_state_item(self, item: dict[str, Any], *, now: float) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table("state"), Item=to_item(item),
                ConditionExpression="attribute_not_exists(state_id) OR #ttl <= :now OR publisher = :publisher",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":now": to_attribute(now), ":publisher": to_attribute(item.get("publisher"))})
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ s3triggers
    def put_triggers(self, items: list[dict[str, Any]]) -> None:
        self._batch_put(self.table("s3triggers"), items)

    def get_trigger(self, trigger_id: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(TableName=self.table("s3triggers"), Key={"trigger_id": {"S": trigger_id}},
                                       ConsistentRead=True).get("Item")
        return from_item(found) if found else None

    def list_triggers(self) -> list[dict[str, Any]]:
        return sorted((from_item(i) for i in self._scan(self.table("s3triggers"))), key=lambda t: t["trigger_id"])

    def query_triggers(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table("s3triggers"), IndexName=S3TRIGGER_INDEX,
            KeyConditionExpression="#b = :b AND #p = :p", ExpressionAttributeNames={"#b": "bucket", "#p": "prefix"},
            ExpressionAttributeValues={":b": {"S": bucket}, ":p": {"S": prefix}})
        items = [from_item(i) for page in pages for i in page.get("Items", [])]
        return sorted(items, key=lambda t: t["trigger_id"])

    def delete_trigger(self, trigger_id: str) -> bool:
        response = self.dynamodb.delete_item(TableName=self.table("s3triggers"), Key={"trigger_id": {"S": trigger_id}},
                                             ReturnValues="ALL_OLD")
        return "Attributes" in response

    # ------------------------------------------------------------------ connections
    def put_connections(self, items: list[dict[str, Any]]) -> None:
        self._batch_put(self.table("connections"), items)

    def get_connection(self, conn_id: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(TableName=self.table("connections"), Key={"conn_id": {"S": conn_id}},
                                       ConsistentRead=True).get("Item")
        return from_item(found) if found else None

    def list_connections(self) -> list[dict[str, Any]]:
        return sorted((from_item(i) for i in self._scan(self.table("connections"))), key=lambda c: c["conn_id"])

    def delete_connection(self, conn_id: str) -> bool:
        response = self.dynamodb.delete_item(TableName=self.table("connections"), Key={"conn_id": {"S": conn_id}},
                                             ReturnValues="ALL_OLD")
        return "Attributes" in response

    # ------------------------------------------------------------------ queues
    def send_message(self, fleet: str, body: dict[str, Any], delay: float = 0) -> str:
        return self.queues.send(fleet, encode_body(body), delay)

    def send_raw(self, fleet: str, body: str) -> str:
        """Put an arbitrary body on a queue (tests of malformed messages use this)."""
        return self.queues.send(fleet, body)

    def receive_messages(self, fleet: str, *, max_messages: int = 1, wait: float = 0,
                         visibility: float = 60, delete_first: str | None = None) -> list[ReceivedMessage]:
        return self.queues.receive(fleet, max_messages=max_messages, wait=wait, visibility=visibility,
                                   delete_first=delete_first)

    def delete_message(self, fleet: str, receipt: str) -> None:
        self.queues.delete(fleet, receipt)

    def extend_visibility(self, fleet: str, receipt: str, seconds: float) -> bool:
        return self.queues.extend(fleet, receipt, seconds)

    def dead_letter(self, fleet: str, message: ReceivedMessage, reason: str) -> None:
        self.queues.dead_letter(fleet, message, reason)

    def list_dead_letters(self, fleet: str | None = None) -> list[DeadLetter]:
        # Queues of realm "prod-eu" also start with "lava-prod-": leave out those of realms named so.
        others = [] if fleet is not None else [
            r for r in self._scan(self.table("realms"), ProjectionExpression="realm")
            if r["realm"]["S"].startswith(f"{self.realm_name}-")]
        return self.queues.list_dead_letters(fleet, exclude_prefixes=[f"lava-{r['realm']['S']}-" for r in others])

    def queue_depth(self, fleet: str) -> tuple[int, int]:
        return self.queues.depth(fleet)

    # ------------------------------------------------------------------ outputs and payloads
    def _put(self, area: _S3Area, key: str, data: bytes) -> str:
        extra: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if self._realm.s3_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._realm.s3_key}
        self.s3.put_object(Bucket=area.bucket, Key=key, Body=data, **extra)
        return f"s3://{area.bucket}/{key}"

    def _get(self, area: _S3Area, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=area.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise

    def _list(self, area: _S3Area, prefix: str) -> list[tuple[str, int]]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=area.bucket, Prefix=prefix):
            found += [(o["Key"], o["Size"]) for o in page.get("Contents", []) if not o["Key"].endswith("/")]
        return found

    def put_output(self, job_id: str, run_id: str, name: str, data: bytes) -> str:
        return self._put(self._outputs, self._outputs.key(job_id, run_id, _checked(name, "output")), data)

    def get_output(self, job_id: str, run_id: str, name: str) -> bytes | None:
        return self._get(self._outputs, self._outputs.key(job_id, run_id, _checked(name, "output")))

    def list_outputs(self, job_id: str, run_id: str) -> list[str]:
        folder = self._outputs.key(job_id, run_id, "")
        return sorted(key.removeprefix(folder) for key, _ in self._list(self._outputs, folder))

    def put_payload(self, name: str, data: bytes) -> str:
        return self._put(self._payloads, self._payloads.key(_checked(name, "payload")), data)

    def get_payload(self, name: str) -> bytes | None:
        return self._get(self._payloads, self._payloads.key(_checked(name, "payload")))

    def list_payloads(self, prefix: str = "") -> list[tuple[str, int]]:
        root = self._payloads.key("")
        return sorted((key.removeprefix(root), size) for key, size in self._list(self._payloads, root + prefix))

    # ------------------------------------------------------------------ event bus
    def put_bus_event(self, *, source: str, detail_type: str, detail: dict[str, Any],
                      resources: list[str], event_bus: str | None = None) -> str:
        entry = {"Source": source, "DetailType": detail_type, "Detail": encode_body(detail),
                 "Resources": resources, "EventBusName": event_bus or "default"}
        response = self._client("events").put_events(Entries=[entry])
        result = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in result:
            msg = f"EventBridge refused the event: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
            raise BackendError(msg)
        return result["EventId"]


class _S3Area:
    """A ``s3://bucket/prefix`` area of the realm record (payloads or outputs)."""

    def __init__(self, uri: str, field: str) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            msg = f"realm record field {field} must be s3://bucket/prefix, got {uri!r}"
            raise BackendError(msg)
        self.bucket = parsed.netloc
        # A bare bucket is allowed here (lava builds keys starting with '/' then and finds nothing).
        self.prefix = parsed.path.strip("/")

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` joined under the prefix (the last part may be empty: a folder)."""
        folder = "/".join(p for p in (self.prefix, *parts[:-1]) if p)
        return f"{folder}/{parts[-1]}" if folder else parts[-1]


def _checked(name: str, kind: str) -> str:
    if not name or name.startswith("/") or name.endswith("/") or ".." in name.split("/"):
        msg = f"{kind} name {name!r} must be a relative object name (no leading '/', no '..', no trailing '/')"
        raise BackendError(msg)
    return name
