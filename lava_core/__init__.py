"""lava: a distributed job scheduler and job runner.

Plugin authors need only what is exported here: the ``hookimpl`` marker, the
base classes to subclass, the run context types and the error classes.
"""

from __future__ import annotations

from lava_core.children import ChildConfigError, run_child
from lava_core.convert import Duration, register_record, structure
from lava_core.dispatch import DispatchRequest, dispatch
from lava_core.errors import BackendError, DispatchError, JobError, JobTimeout, LavaError, PluginError, SpecError
from lava_core.extension import ActionType, JobType, NoParams, TriggerSource
from lava_core.hookspecs import hookimpl
from lava_core.records import DispatchMessage, Event, EventEntry, Job, Realm
from lava_core.run import ActionContext, RunContext

__all__ = [
    "ActionContext", "ActionType", "BackendError", "ChildConfigError", "DispatchError", "DispatchMessage", "DispatchRequest", "Duration",
    "Event", "EventEntry", "Job", "JobError", "JobTimeout", "JobType", "LavaError", "NoParams", "PluginError",
    "Realm", "RunContext", "SpecError", "TriggerSource", "dispatch", "hookimpl", "register_record", "run_child", "structure",
]
