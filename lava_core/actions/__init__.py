"""Post-job actions that ship with lava-core besides ``log`` and ``event``.

``sqs``, ``sns``, ``email``, ``slack`` and ``state``. They need nothing beyond
the core's own dependencies (boto3, for ``sqs`` and ``sns``, is imported on
first use), so every worker has them. The host registers this package as a
built-in plugin of lava-core, exactly like a third-party plugin module.
"""

from __future__ import annotations

from lava_core.actions.aws import SnsAction, SqsAction
from lava_core.actions.mail import EmailAction
from lava_core.actions.slack import SlackAction
from lava_core.actions.state import StateAction
from lava_core.hookspecs import hookimpl
from lava_core.plugins import Registrar


@hookimpl
def lava_register_actions(register: Registrar) -> None:
    for action in (SqsAction, SnsAction, EmailAction, SlackAction, StateAction):
        register(action)
