"""The plugin host with real pluggy registration: discovery, conflicts, failures, observers."""

from __future__ import annotations

import logging

import pytest
from attrs import define

import lava_core
from lava_core import ActionType, JobType, PluginError, SpecError
from lava_core.plugins import PluginHost
from lava_core.validate import validate_spec


@define(frozen=True, kw_only=True)
class CountParams:
    count: int = 1


def job_type_class(name):
    return type(f"Job_{name}", (JobType,), {"type_name": name, "Params": CountParams,
                                             "run": lambda self, run, params: {"n": params.count}})


class TypesPlugin:
    """A plugin object registering the given job type classes."""

    def __init__(self, *classes):
        self.classes = classes

    @lava_core.hookimpl
    def lava_register_job_types(self, register):
        for cls in self.classes:
            register(cls)


class BrokenPlugin:
    @lava_core.hookimpl
    def lava_register_job_types(self, register):
        raise RuntimeError("boom")


class Observer:
    def __init__(self, fail=False):
        self.fail = fail
        self.calls = []

    @lava_core.hookimpl
    def lava_run_started(self, run):
        self.calls.append(("started", run))
        if self.fail:
            raise ValueError("observer broke")

    @lava_core.hookimpl
    def lava_run_finished(self, run, status):  # accepts a subset of the hook's arguments
        self.calls.append(("finished", run, status))
        if self.fail:
            raise ValueError("observer broke")


def host_with(*plugins, **kwargs):
    return PluginHost(entry_points=False, plugins=list(plugins), **kwargs)


# --------------------------------------------------------------------------- discovery


def test_entry_points_find_cmd_and_core_actions():
    host = PluginHost(entry_points=True, allow=None, block=set())
    assert "cmd" in host.job_types
    assert type(host.job_type("cmd")).__module__ == "lava_cmd.cmd"
    assert {"log", "event"} <= set(host.actions)
    assert host.infos["cmd"].distribution == "lava-cmd"
    assert host.infos["cmd"].job_types == ["cmd", "exe", "pkg"]
    core = {tuple(i.actions) for i in host.plugin_infos() if i.distribution == "lava-core"}
    assert core == {("log", "event"), ("sqs", "sns", "email", "slack", "state")}


def test_plugins_given_directly_are_registered():
    host = host_with(("x", TypesPlugin(job_type_class("mytype"))))
    assert set(host.job_types) == {"mytype"}  # no entry points: no cmd
    assert isinstance(host.job_type("mytype"), JobType)
    assert host.infos["x"].distribution == "x"
    assert host.infos["x"].job_types == ["mytype"]
    assert host.infos["x"].error is None
    assert {"log", "event"} <= set(host.actions)  # core actions are always there


def test_duplicate_type_from_two_distributions():
    with pytest.raises(PluginError) as info:
        host_with(("alpha", TypesPlugin(job_type_class("dup"))), ("beta", TypesPlugin(job_type_class("dup"))))
    message = str(info.value)
    assert "job type 'dup'" in message
    assert "alpha" in message and "beta" in message


def test_duplicate_of_an_installed_type_names_its_distribution():
    with pytest.raises(PluginError, match=r"'cmd' is provided by two distributions: lava-cmd and mine"):
        PluginHost(entry_points=True, allow=None, block=set(), plugins=[("mine", TypesPlugin(job_type_class("cmd")))])


def test_duplicate_core_action_name():
    class LogAgain(ActionType):
        action_name = "log"
        Fields = CountParams

    class ActionPlugin:
        @lava_core.hookimpl
        def lava_register_actions(self, register):
            register(LogAgain)

    with pytest.raises(PluginError, match=r"action type 'log' is provided by two distributions: acts and lava-core"):
        host_with(("acts", ActionPlugin()))


def test_failing_registration_hook_is_recorded_and_host_still_builds():
    host = host_with(("broken", BrokenPlugin()), ("good", TypesPlugin(job_type_class("ok"))))
    assert host.infos["broken"].error == "lava_register_job_types failed: RuntimeError: boom"
    assert set(host.job_types) == {"ok"}
    with pytest.raises(PluginError) as info:
        host.job_type("nope")
    assert str(info.value) == ("no installed plugin provides job type 'nope' (installed: ok); "
                               "plugins that failed to load: broken (broken)")


def test_registering_a_non_job_type_is_an_error():
    with pytest.raises(PluginError, match=r"plugin bad \(bad\) registered .*, not a JobType subclass"):
        host_with(("bad", TypesPlugin(dict)))
    with pytest.raises(PluginError, match="not a JobType subclass"):
        host_with(("bad", TypesPlugin(job_type_class("t")())))  # an instance, not a class


def test_job_type_without_a_name_is_an_error():
    nameless = type("Nameless", (JobType,), {})
    with pytest.raises(PluginError, match=r"Nameless from nameless does not declare type_name"):
        host_with(("nameless", TypesPlugin(nameless)))


def test_unknown_job_type_lists_installed_types():
    host = PluginHost(entry_points=True, allow=None, block=set())
    with pytest.raises(PluginError, match=r"^no installed plugin provides job type 'nope' \(installed: .*cmd"):
        host.job_type("nope")
    with pytest.raises(PluginError, match=r"\(installed: none\)"):
        host_with().job_type("cmd")


def test_allow_list_excludes_other_plugins():
    host = PluginHost(entry_points=True, allow={"nothing"})
    assert "cmd" not in host.job_types
    assert "cmd" not in host.infos
    assert {"log", "event"} <= set(host.actions)


@pytest.mark.parametrize("blocked", ["lava-cmd", "lava_cmd", "cmd"])
def test_block_list_by_distribution_or_entry_point_name(blocked):
    host = PluginHost(entry_points=True, allow=None, block={blocked})
    assert "cmd" not in host.job_types


def test_allow_list_by_distribution_name_keeps_it():
    assert "cmd" in PluginHost(entry_points=True, allow={"lava-cmd"}, block=set()).job_types


def test_environment_block_list(monkeypatch):
    monkeypatch.setenv("LAVA_DISABLE_PLUGINS", "other, lava-cmd")
    assert "cmd" not in PluginHost(entry_points=True).job_types


# --------------------------------------------------------------------------- observers


def test_observers_are_called_with_the_arguments_they_accept():
    observer = Observer()
    host = host_with(("obs", observer))
    run = object()
    host.run_started(run)
    host.run_finished(run, "complete", {"exit_status": 0})
    assert observer.calls == [("started", run), ("finished", run, "complete")]


def test_failing_observer_is_logged_not_raised(caplog):
    bad, good = Observer(fail=True), Observer()
    host = host_with(("bad-obs", bad), ("good-obs", good))
    run = object()
    with caplog.at_level(logging.ERROR, logger="lava.plugins"):
        host.run_started(run)
        host.run_finished(run, "failed", None)
    assert bad.calls == [("started", run), ("finished", run, "failed")]
    assert good.calls == [("started", run), ("finished", run, "failed")]  # others still ran
    messages = [r.getMessage() for r in caplog.records]
    assert "observer bad-obs.lava_run_started failed" in messages
    assert "observer bad-obs.lava_run_finished failed" in messages
    assert all(r.exc_info and "observer broke" in str(r.exc_info[1]) for r in caplog.records)


# --------------------------------------------------------------------------- validation


def test_validate_spec_checks_cmd_parameters_and_action_names():
    host = PluginHost(entry_points=True, allow=None, block=set())
    spec = {"job_id": "j", "type": "cmd", "worker": "core", "payload": "echo", "parameters": {"timeout": "soon"},
            "on_fail": [{"action": "nosuch"}, {"action": "log", "message": "failed"}]}
    with pytest.raises(SpecError) as info:
        validate_spec(host, spec, source="jobs/etl.yaml")
    assert info.value.problems == [
        "$.parameters.timeout: expected a duration like '20m', got 'soon'",
        "$.on_fail[0].action: unknown action 'nosuch' "
        "(installed: dispatch, email, event, log, slack, sns, sqs, state)",
    ]
    assert str(info.value).startswith("jobs/etl.yaml: $.parameters.timeout: ")


def test_validate_spec_reports_action_fields_and_payload():
    host = PluginHost(entry_points=True, allow=None, block=set())
    spec = {"job_id": "j", "type": "cmd", "worker": "core", "payload": "", "on_success": [{"action": "log"}]}
    with pytest.raises(SpecError) as info:
        validate_spec(host, spec)
    assert info.value.problems == [
        "$.payload: cmd needs a command string or a non-empty argv list, got ''",
        "$.on_success[0].message: required field missing",
    ]


def test_validate_spec_with_a_plugin_type():
    host = host_with(("x", TypesPlugin(job_type_class("counter"))))
    base = {"job_id": "j", "type": "counter", "worker": "core", "payload": None}
    assert validate_spec(host, {**base, "parameters": {"count": 3}}).parameters == {"count": 3}
    with pytest.raises(SpecError) as info:
        validate_spec(host, {**base, "parameters": {"count": "3", "extra": 1}})
    assert info.value.problems == ["$.parameters.count: expected an integer, got string '3'",
                                   "$.parameters.extra: unknown field"]
    with pytest.raises(SpecError, match=r"^\$\.type: no installed plugin provides job type 'cmd'"):
        validate_spec(host, {**base, "type": "cmd"})
