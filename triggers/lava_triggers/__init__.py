"""lava-triggers: trigger sources that turn external events into dispatches.

* ``s3trigger`` (:class:`S3TriggerSource`): S3 object events, delivered directly,
  via SNS, via SQS or by EventBridge, matched against the realm's s3triggers table.
* ``dispatch-helper`` (:class:`DispatchHelperSource`): dispatch requests (lava's
  CLI-style lines or JSON) from SNS, SQS, EventBridge or a direct invocation.

The Lambda handlers are ``lava_triggers.s3trigger.handler`` and
``lava_triggers.dispatch_helper.handler``; ``lava trigger replay`` and ``lava
trigger watch`` run the same code locally.
"""

from __future__ import annotations

from lava_triggers.entries import S3TriggerEntry, check_entry
from lava_triggers.helper import DispatchHelperSource
from lava_triggers.report import ItemReport, Planned, TriggerReport
from lava_triggers.s3events import S3Info
from lava_triggers.s3match import S3TriggerSettings, S3TriggerSource

__all__ = ["DispatchHelperSource", "ItemReport", "Planned", "S3Info", "S3TriggerEntry", "S3TriggerSettings",
           "S3TriggerSource", "TriggerReport", "check_entry"]
