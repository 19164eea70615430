"""The worker: takes dispatch messages off a fleet queue and runs their jobs."""

from lava_core.worker.loop import Worker, WorkerOptions

__all__ = ["Worker", "WorkerOptions"]
