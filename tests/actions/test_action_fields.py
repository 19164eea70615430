"""Action fields are checked when a spec is validated (``lava job put``): literal values at once, templates later."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lava_core.errors import SpecError
from lava_core.plugins import PluginHost
from lava_core.validate import validate_spec


@pytest.fixture(scope="module")
def host():
    return PluginHost()


def problems(host, *actions):
    spec = {"job_id": "j", "type": "cmd", "worker": "core", "payload": "true", "on_success": list(actions)}
    try:
        validate_spec(host, spec)
    except SpecError as exc:
        return exc.problems
    return []


def test_every_action_is_installed_with_the_core(host):
    assert {"log", "event", "sqs", "sns", "email", "slack", "state", "dispatch"} <= set(host.actions)
    core = {i.name: i for i in host.plugin_infos()}["lava_core.actions"]
    assert (core.distribution, sorted(core.actions)) == ("lava-core", ["email", "slack", "sns", "sqs", "state"])


def test_templates_pass_validation_literals_are_checked(host):
    assert problems(host,
                    {"action": "sqs", "queue": "q", "message": {"a": 1}, "delay": "{{ globals.wait }}"},
                    {"action": "state", "state_id": "s", "value": [1], "type": "{{ t }}", "ttl": "{{ t }}"},
                    {"action": "slack", "message": "m", "style": "{{ s }}", "colour": "{{ c }}"},
                    {"action": "dispatch", "job_id": "{{ next }}", "delay": "{{ d }}"}) == []
    assert problems(host,
                    {"action": "sqs", "queue": "q", "message": "m", "delay": "16m"},
                    {"action": "state", "state_id": "s", "value": 1, "type": "secure", "ttl": "soon", "kms_key": "k"},
                    {"action": "slack", "message": "m", "style": "fancy", "colour": "red", "from": "me"},
                    {"action": "email", "to": ["a@example.com", 3], "subject": "s", "message": "m", "cc": "x"},
                    {"action": "sns", "topic": "t"},
                    {"action": "dispatch", "job_id": "x", "delay": -1}) == [
        "$.on_success[0].delay: delay must be at most 15m, got '16m'",
        "$.on_success[1].type: expected one of json, raw, got 'secure'",
        "$.on_success[1].ttl: expected a duration like '20m', got 'soon'",
        "$.on_success[1].kms_key: unknown field",
        "$.on_success[2].style: expected one of block, attachment, plain, got 'fancy'",
        "$.on_success[2].colour: expected a colour like '#36a64f' or one of good, warning, danger, got 'red'",
        "$.on_success[3].to: expected an address or a list of addresses, got 3 at index 1",
        "$.on_success[3].cc: unknown field",
        "$.on_success[4].message: required field missing",
        "$.on_success[5].delay: expected a duration like '20m', got negative -1",
    ]


def test_core_loads_its_actions_without_boto3():
    # lava-core without the aws extra: the host still builds; sqs/sns fail with a clear message when used.
    code = """
import sys
sys.modules["boto3"] = None
sys.modules["botocore"] = None
from lava_core.plugins import PluginHost
from lava_core.actions.aws import aws_client
from lava_core.actions.common import ActionError
host = PluginHost(entry_points=False)
print(sorted(host.actions))
try:
    aws_client("sqs")
except ActionError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["['email', 'event', 'log', 'slack', 'sns', 'sqs', 'state']",
                                "the sqs action needs boto3: pip install 'lava-core[aws]'"]
