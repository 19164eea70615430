"""Lambda handler of the s3trigger: ``lava_triggers.s3trigger.handler``.

Environment: ``LAVA_REALM`` (required), ``LAVA_S3TRIGGER_CACHE_TTL``,
``LAVA_S3TRIGGER_DEDUP_TTL``, ``LAVA_LOGLEVEL``. For an SQS event source, enable
``ReportBatchItemFailures``: the answer names only the messages that failed.
"""

from __future__ import annotations

from typing import Any

from lava_triggers.runtime import handle


def handler(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda's signature
    return handle("s3trigger", event)
