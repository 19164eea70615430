"""The ``sqs`` and ``sns`` actions: send a message to a queue, publish one to a topic.

boto3 is imported on first use, so lava-core without its ``aws`` extra still
loads these actions (and reports a missing boto3 as an action failure). Clients
use the worker's default AWS credentials and are made once per process, per
service, region and endpoint.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from attrs import define

from lava_core.actions.common import ActionError, TemplatedDelay, render_message, render_optional
from lava_core.extension import ActionType
from lava_core.run import ActionContext

SNS_SUBJECT_MAX = 100  # SNS's own limit; lava truncates too

_clients: dict[tuple[str, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def aws_client(service: str, region: str | None = None) -> Any:
    """A cached boto3 client; ActionError if boto3 is not installed."""
    try:
        import boto3  # noqa: PLC0415 - optional dependency (lava-core[aws]), loaded only when an action needs it
        from botocore.config import Config  # noqa: PLC0415
    except ImportError:
        msg = f"the {service} action needs boto3: pip install 'lava-core[aws]'"
        raise ActionError(msg) from None
    key = (service, region, os.environ.get("AWS_ENDPOINT_URL"))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3})
            client = _clients[key] = boto3.session.Session().client(service, region_name=region, config=config)
    return client


def _aws_failure(what: str, exc: Exception) -> ActionError:
    """Translate a botocore error into one line naming the queue or topic."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, text = error.get("Code", "?"), error.get("Message", "")
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound"):
            return ActionError(f"{what} does not exist (or this worker's credentials cannot see it): {code}")
        return ActionError(f"{what}: {code}: {text}" if text else f"{what}: {code}")
    return ActionError(f"{what}: {type(exc).__name__}: {exc}")


def _aws_errors() -> tuple[type[Exception], ...]:
    """botocore's error classes, or none when boto3 is missing (``aws_client`` reports that)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - boto3 is optional
    except ImportError:
        return ()
    return (BotoCoreError, ClientError)


# --------------------------------------------------------------------------- sqs

_SQS_HOST_REGION = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com|^([a-z0-9-]+)\.queue\.amazonaws\.com")


@define(frozen=True, kw_only=True)
class SqsFields:
    queue: str
    message: str | dict[str, Any]
    delay: TemplatedDelay = TemplatedDelay(0)
    dedup_id: str | None = None
    group_id: str | None = None


class SqsAction(ActionType):
    """Send a message to a queue given by name, URL or ARN.

    Unlike lava, a full ``https://`` URL works as written (lava prefixed
    ``https://`` to anything containing ``.amazonaws.com/``; that form still works).
    ``dedup_id`` and ``group_id`` apply to FIFO queues (names ending ``.fifo``);
    ``group_id`` defaults there to the job id.
    """

    action_name = "sqs"
    Fields = SqsFields

    def run(self, ctx: ActionContext, fields: SqsFields) -> str:
        queue = ctx.render(fields.queue, where="queue").strip()
        body = render_message(ctx, fields.message)
        if not body:
            msg = "message: rendered to an empty string; SQS needs a non-empty body"
            raise ActionError(msg)
        delay = int(fields.delay.resolve(ctx, where="delay"))
        what = f"queue {queue!r}"
        try:
            client, url = _queue_url(queue)
            request: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
            if delay:
                request["DelaySeconds"] = delay
            if url.rstrip("/").endswith(".fifo"):
                group = render_optional(ctx, fields.group_id, where="group_id")
                request["MessageGroupId"] = group or ctx.run.job.job_id
                dedup = render_optional(ctx, fields.dedup_id, where="dedup_id")
                if dedup:
                    request["MessageDeduplicationId"] = dedup
            return client.send_message(**request)["MessageId"]
        except _aws_errors() as exc:
            raise _aws_failure(what, exc) from None


def _queue_url(queue: str) -> tuple[Any, str]:
    """The client to use and the queue's URL, from a URL, an ARN or a name."""
    if not queue:
        msg = "queue: rendered to an empty string"
        raise ActionError(msg)
    if queue.startswith(("https://", "http://")):
        return aws_client("sqs", _region_of_url(queue)), queue
    if ".amazonaws.com/" in queue:  # lava's scheme-less URL form
        url = "https://" + queue
        return aws_client("sqs", _region_of_url(url)), url
    if queue.startswith("arn:"):
        parts = queue.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            msg = f"queue: {queue!r} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"
            raise ActionError(msg)
        client = aws_client("sqs", parts[3] or None)
        return client, client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    client = aws_client("sqs")
    return client, client.get_queue_url(QueueName=queue)["QueueUrl"]


def _region_of_url(url: str) -> str | None:
    match = _SQS_HOST_REGION.match(url.split("://", 1)[1])
    return (match.group(1) or match.group(2)) if match else None


# --------------------------------------------------------------------------- sns


@define(frozen=True, kw_only=True)
class SnsFields:
    topic: str
    message: str | dict[str, Any]
    subject: str | None = None


class SnsAction(ActionType):
    """Publish a message to a topic given by ARN; the subject is cut to 100 characters, as in lava."""

    action_name = "sns"
    Fields = SnsFields

    def run(self, ctx: ActionContext, fields: SnsFields) -> str:
        topic = ctx.render(fields.topic, where="topic").strip()
        parts = topic.split(":")
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns":
            msg = f"topic: expected a topic ARN like arn:aws:sns:REGION:ACCOUNT:NAME, got {topic!r}"
            raise ActionError(msg)
        body = render_message(ctx, fields.message)
        if not body:
            msg = "message: rendered to an empty string; SNS needs a non-empty message"
            raise ActionError(msg)
        request = {"TopicArn": topic, "Message": body}
        subject = render_optional(ctx, fields.subject, where="subject")
        if subject:
            # SNS refuses line breaks and control characters in subjects.
            request["Subject"] = " ".join(subject.split())[:SNS_SUBJECT_MAX]
        try:
            return aws_client("sns", parts[3] or None).publish(**request)["MessageId"]
        except _aws_errors() as exc:
            raise _aws_failure(f"topic {topic!r}", exc) from None
