"""Lambda handler of the dispatch helper: ``lava_triggers.dispatch_helper.handler``.

Environment: ``LAVA_REALM`` (required), ``LAVA_LOGLEVEL``. For an SQS event
source, enable ``ReportBatchItemFailures``: the answer names only the messages
that held a bad request or whose dispatch failed.
"""

from __future__ import annotations

from typing import Any

from lava_triggers.runtime import handle


def handler(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda's signature
    return handle("dispatch-helper", event)
