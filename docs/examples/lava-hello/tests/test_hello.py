"""Tests for the hello job type, using the fixtures lava-core ships for plugin authors."""

from __future__ import annotations

import signal
from collections.abc import Callable


from lava_core import dispatch
from lava_core.backend.local import LocalBackend
from lava_core.plugins import PluginHost
from lava_core.records import load_job
from lava_core.testing import WorkerProcess, drain, put_jobs, wait_for_status
from lava_core.validate import check_job

from lava_hello import plugin


def hello_host() -> PluginHost:
    """A host with exactly this plugin, whether or not lava-hello is installed."""
    return PluginHost(entry_points=False, plugins=[("lava-hello", plugin)])


def test_greets_the_rendered_payload(lava_realm: LocalBackend) -> None:
    put_jobs(lava_realm, {"job_id": "greet", "type": "hello", "payload": "{{ globals.who }}",
                          "parameters": {"greeting": "Kia ora"}})
    run_id = dispatch(lava_realm, "greet", globals={"who": "world"})
    drain(lava_realm, host=hello_host())
    event = lava_realm.get_event("greet", run_id)
    assert [entry.status for entry in event.log] == ["starting", "running", "complete"]
    assert event.log[-1].info["message"] == "Kia ora, world!"
    assert lava_realm.get_output("greet", run_id, "stdout") == b"Kia ora, world!\n"


def test_empty_payload_is_refused_before_running() -> None:
    problems = check_job(hello_host(), load_job({"job_id": "nobody", "type": "hello", "worker": "core",
                                                 "payload": ""}))
    assert problems == ["$.payload: hello needs a name string"]


def test_unknown_parameter_is_reported_by_path(lava_realm: LocalBackend) -> None:
    put_jobs(lava_realm, {"job_id": "typo", "type": "hello", "payload": "Ada", "parameters": {"greting": "Hi"}})
    run_id = dispatch(lava_realm, "typo")
    drain(lava_realm, host=hello_host())
    event = lava_realm.get_event("typo", run_id)
    assert event.status == "rejected"
    assert event.log[-1].info == "Bad job parameters: $.parameters.greting: unknown field"


def test_installed_plugin_runs_in_a_real_worker(lava_realm: LocalBackend, lava_host: PluginHost,
                                                 lava_worker: Callable[..., WorkerProcess]) -> None:
    # The worker process finds plugins by entry point: install the distribution first.
    assert "hello" in lava_host.job_types, "lava-hello is not installed (pip install -e .)"
    put_jobs(lava_realm, {"job_id": "greet", "type": "hello", "payload": "Ada"})
    worker = lava_worker(lava_realm, "core", "--poll-wait", "0.2s")
    run_id = dispatch(lava_realm, "greet")
    assert wait_for_status(lava_realm, "greet", run_id).status == "complete"
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
