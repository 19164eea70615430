"""One exception tree for lava; every error says what failed and for which object."""

from __future__ import annotations

from typing import Any


class LavaError(Exception):
    """Base of every error lava raises on purpose."""

    def __init__(self, message: str, *, job_id: str | None = None, run_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.job_id = job_id
        self.run_id = run_id

    def __str__(self) -> str:
        return self.message


class SpecError(LavaError):
    """A record (job spec, dispatch request, message) failed validation.

    ``problems`` holds one line per bad field, each starting with its JSON path
    (``$.parameters.timeout: expected a duration like '20m', got 'soon'``).
    """

    def __init__(self, problems: list[str], *, source: str | None = None, job_id: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + p for p in self.problems), job_id=job_id)


class DispatchError(LavaError):
    """A dispatch could not be sent (bad request, unknown job, queue failure)."""


class JobError(LavaError):
    """A job run failed. ``data`` is the partial result recorded in the event."""

    def __init__(self, message: str, *, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.data = data


class JobTimeout(JobError):
    """A job ran longer than its timeout and was killed."""


class PluginError(LavaError):
    """A plugin could not be loaded or conflicts with another plugin."""


class BackendError(LavaError):
    """A realm backend (local SQLite folder or AWS) could not do what was asked."""


class RealmNotFound(BackendError):
    """The selected realm does not exist yet."""
