"""The plugin host: finds plugins through entry points and keeps the registries.

Built once per process and passed around (never a hidden global), so tests can
build their own host with exactly the plugins they want.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import pluggy
from attrs import define, field

from lava_core import hookspecs
from lava_core.convert import register_record
from lava_core.errors import PluginError
from lava_core.extension import ActionType, JobType, TriggerSource

log = logging.getLogger("lava.plugins")

ENTRY_POINT_GROUP = "lava.plugins"
CORE_DIST = "lava-core"
_BUILTIN_MODULES = ("lava_core.builtin_actions", "lava_core.actions")

Registrar = Callable[[type], None]


@define
class PluginInfo:
    """What one distribution contributes, for ``lava plugins``."""

    name: str
    distribution: str
    version: str
    job_types: list[str] = field(factory=list)
    actions: list[str] = field(factory=list)
    triggers: list[str] = field(factory=list)
    error: str | None = None


def _split_env(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """Owns the pluggy manager and the job-type, action and trigger registries."""

    def __init__(self, *, entry_points: bool = True, plugins: Iterable[tuple[str, object]] = (),
                 allow: set[str] | None = None, block: set[str] | None = None) -> None:
        self.pm = pluggy.PluginManager("lava")
        self.pm.add_hookspecs(hookspecs)
        self.job_types: dict[str, JobType] = {}
        self.actions: dict[str, ActionType] = {}
        self.triggers: dict[str, TriggerSource] = {}
        self._owner: dict[tuple[str, str], str] = {}
        self.infos: dict[str, PluginInfo] = {}
        self._allow = allow if allow is not None else _split_env("LAVA_PLUGINS")
        self._block = block if block is not None else (_split_env("LAVA_DISABLE_PLUGINS") or set())
        for module_name in _BUILTIN_MODULES:
            self._register(module_name, importlib.import_module(module_name), CORE_DIST, _version(CORE_DIST))
        if entry_points:
            self._load_entry_points()
        for name, plugin in plugins:
            self._register(name, plugin, name, "0")
        self._trace = bool(os.environ.get("LAVA_TRACE_PLUGINS"))
        self._collect()

    # ---------------------------------------------------------------- discovery

    def _load_entry_points(self) -> None:
        seen: set[str] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else ep.name
            version = ep.dist.version if ep.dist else "?"
            if ep.name in seen or not self._wanted(ep.name, dist):
                continue
            seen.add(ep.name)
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the process down
                message = f"cannot import {ep.value}: {type(exc).__name__}: {exc}"
                log.error("plugin %s (%s %s) failed to load: %s", ep.name, dist, version, message)
                self.infos[ep.name] = PluginInfo(ep.name, dist, version, error=message)
                continue
            self._register(ep.name, plugin, dist, version)

    def _wanted(self, name: str, dist: str) -> bool:
        names = {_normal(name), _normal(dist)}
        if names & {_normal(b) for b in self._block}:
            return False
        return self._allow is None or bool(names & {_normal(a) for a in self._allow})

    def _register(self, name: str, plugin: object, dist: str, version: str) -> None:
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            # A misspelled hook or a wrong argument name: report it like an import failure.
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            message = f"invalid plugin: {exc}"
            log.error("plugin %s (%s %s): %s", name, dist, version, message)
            self.infos[name] = PluginInfo(name, dist, version, error=message)
            return
        self.infos[name] = PluginInfo(name, dist, version)

    def _collect(self) -> None:
        """Call each plugin's register hooks separately so every name is tied to its distribution."""
        kinds: list[tuple[str, str, type, dict[str, Any], str]] = [
            ("lava_register_job_types", "type_name", JobType, self.job_types, "job_types"),
            ("lava_register_actions", "action_name", ActionType, self.actions, "actions"),
            ("lava_register_triggers", "trigger_name", TriggerSource, self.triggers, "triggers"),
        ]
        for hook_name, attr, base, registry, info_attr in kinds:
            for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):  # pluggy's call order
                info = self.infos[impl.plugin_name]
                self._trace_call(hook_name, impl.plugin_name)
                register = self._registrar(info, attr, base, registry, info_attr)
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported like an import failure
                    info.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"
                    log.error("plugin %s (%s): %s", info.name, info.distribution, info.error)

    def _registrar(self, info: PluginInfo, attr: str, base: type, registry: dict[str, Any],
                   info_attr: str) -> Registrar:
        def register(cls: type) -> None:
            if not (isinstance(cls, type) and issubclass(cls, base)):
                msg = f"plugin {info.name} ({info.distribution}) registered {cls!r}, not a {base.__name__} subclass"
                raise PluginError(msg)
            key = getattr(cls, attr, None)
            if not isinstance(key, str) or not key:
                msg = f"{cls.__qualname__} from {info.distribution} does not declare {attr}"
                raise PluginError(msg)
            owner = self._owner.get((attr, key))
            if owner is not None and owner != info.distribution:
                kind = base.__name__.replace("Type", " type").replace("Source", " source").lower()
                first, second = sorted((owner, info.distribution))
                msg = f"{kind} {key!r} is provided by two distributions: {first} and {second}"
                raise PluginError(msg)
            for record in (getattr(cls, "Params", None), getattr(cls, "Fields", None)):
                if record is not None:
                    register_record(record)
            registry[key] = cls()
            self._owner[(attr, key)] = info.distribution
            getattr(info, info_attr).append(key)

        return register

    # ---------------------------------------------------------------- lookups

    def job_type(self, name: str) -> JobType:
        """The job type called ``name``, or a PluginError saying what is installed."""
        try:
            return self.job_types[name]
        except KeyError:
            known = ", ".join(sorted(self.job_types)) or "none"
            broken = [i for i in self.infos.values() if i.error]
            hint = ""
            if broken:
                hint = "; plugins that failed to load: " + ", ".join(f"{i.name} ({i.distribution})" for i in broken)
            msg = f"no installed plugin provides job type {name!r} (installed: {known}){hint}"
            raise PluginError(msg) from None

    def action(self, name: str) -> ActionType:
        try:
            return self.actions[name]
        except KeyError:
            msg = f"unknown action {name!r} (installed: {', '.join(sorted(self.actions)) or 'none'})"
            raise PluginError(msg) from None

    def trigger(self, name: str) -> TriggerSource:
        """The trigger source called ``name``, or a PluginError saying what is installed."""
        try:
            return self.triggers[name]
        except KeyError:
            msg = (f"no installed plugin provides trigger source {name!r} "
                   f"(installed: {', '.join(sorted(self.triggers)) or 'none'}; lava's own are in lava-triggers)")
            raise PluginError(msg) from None

    def plugin_infos(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda i: (i.distribution != CORE_DIST, i.distribution, i.name))

    # ---------------------------------------------------------------- lifecycle hooks

    def run_started(self, run: Any) -> None:
        self._observe("lava_run_started", run=run)

    def run_finished(self, run: Any, status: str, result: dict[str, Any] | None) -> None:
        self._observe("lava_run_finished", run=run, status=status, result=result)

    def _trace_call(self, hook_name: str, plugin_name: str, kwargs: dict[str, Any] | None = None) -> None:
        # Hooks are called per implementation (to tie registrations to distributions),
        # so tracing is done here rather than through pluggy's tracer.
        if self._trace:
            log.info("hook %s -> %s(%s)", hook_name, plugin_name, ", ".join(sorted(kwargs or {"register": 1})))

    def _observe(self, hook_name: str, **kwargs: Any) -> None:
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):  # pluggy's call order
            accepted = {k: v for k, v in kwargs.items() if k in impl.argnames}
            self._trace_call(hook_name, impl.plugin_name, accepted)
            try:
                impl.function(**accepted)
            except Exception:
                log.exception("observer %s.%s failed", impl.plugin_name, hook_name)


def _normal(name: str) -> str:
    """Distribution names compare as pip compares them: case, ``_``, ``.`` and ``-`` alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
