"""The contract between lava and its plugins.

A plugin is a module listed under the ``lava.plugins`` entry-point group of its
distribution. It implements any of the hooks below with ``@lava_core.hookimpl``.
Hooks are called with keyword arguments only, and an implementation may accept
any subset of them, so new arguments can be added without breaking plugins.

Hooks are grouped by phase: registration (once per process, when the plugin host
is built) and run lifecycle (once per job run, in the worker process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from lava_core.plugins import Registrar
    from lava_core.run import RunContext

hookspec = pluggy.HookspecMarker("lava")
hookimpl = pluggy.HookimplMarker("lava")


# --------------------------------------------------------------------------- registration


@hookspec
def lava_register_job_types(register: Registrar) -> None:
    """Contribute job types.

    Called once per process (worker, CLI, dispatcher or trigger Lambda) when the
    plugin host is built, before any job is validated or run.

    :param register: call ``register(cls)`` with a :class:`lava_core.JobType`
        subclass for each job type the plugin provides. The class declares its
        ``type_name`` and an attrs ``Params`` class. Registering a name that
        another distribution already registered is a startup error naming the
        type and both distributions.
    :return: nothing; the return value is ignored.
    """


@hookspec
def lava_register_actions(register: Registrar) -> None:
    """Contribute post-job action types (``on_success`` / ``on_fail`` / ``on_retry``).

    Called once per process when the plugin host is built.

    :param register: call ``register(cls)`` with a :class:`lava_core.ActionType`
        subclass declaring ``action_name`` and an attrs ``Fields`` class.
        Duplicate names across distributions are a startup error.
    :return: nothing; the return value is ignored.
    """


@hookspec
def lava_register_triggers(register: Registrar) -> None:
    """Contribute trigger sources: code that turns a raw external event (a storage
    notification, a bus event, a queue message) into dispatch requests.

    Called once per process when the plugin host is built, in workers, in the CLI
    and in trigger Lambda handlers alike.

    :param register: call ``register(cls)`` with a :class:`lava_core.TriggerSource`
        subclass declaring ``trigger_name``. Duplicate names are a startup error.
    :return: nothing; the return value is ignored.
    """


# --------------------------------------------------------------------------- run lifecycle


@hookspec
def lava_run_started(run: RunContext) -> None:
    """A job run is about to execute its first attempt.

    Called in the worker process, on the thread that runs the job, after the
    ``starting`` event is recorded and every check (enabled, max_run_delay) has
    passed, before the job type's ``run``. Children of chain/dag/foreach jobs
    get their own call. Observers (metrics, audit) implement it; an exception
    raised here is logged and otherwise ignored, so an observer can never fail
    a job.

    :param run: the run's context: ``run.job`` (the merged spec), ``run.run_id``,
        ``run.globals``, ``run.start`` (aware datetime) and ``run.worker``.
    :return: nothing; the return value is ignored.
    """


@hookspec
def lava_run_finished(run: RunContext, status: str, result: dict[str, Any] | None) -> None:
    """A job run has reached its final status.

    Called in the worker process, on the job's thread, once per run after the
    last attempt and after its post-job actions, whatever the outcome. Not
    called for runs rejected before they started (see ``lava events``).
    Exceptions are logged and ignored.

    :param run: the run's context, as for :func:`lava_run_started`.
    :param status: ``complete`` or ``failed``.
    :param result: the job type's result on success, the failure record
        (``error``, ``error_data``) on failure.
    :return: nothing; the return value is ignored.
    """
