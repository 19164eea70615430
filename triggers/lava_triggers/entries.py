"""s3trigger entries (rows of the realm's s3triggers table): the record, its checks, its conditions.

An entry names a bucket and a key prefix made of whole path components (``*``
for the whole bucket), the job(s) to dispatch, and optional ``if_*`` /
``if_not_*`` conditions. Entries are checked when written (``lava trigger put``)
and again when read, so a bad row is reported with its ``trigger_id`` and the
field at fault instead of being half-understood.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from attrs import define, field

from lava_core.convert import register_record, structure
from lava_core.dispatch import Delay
from lava_core.errors import SpecError
from lava_core.records import JOB_ID_RE, RESERVED_PREFIX
from lava_core.units import parse_size

if TYPE_CHECKING:
    from lava_triggers.s3events import S3Info

WHOLE_BUCKET = "*"
Patterns = str | list[str] | None


@define(frozen=True, kw_only=True)
class S3TriggerEntry:
    """One row of the s3triggers table (lava's fields; ``x-*`` fields kept in ``extras``)."""

    trigger_id: str
    bucket: str
    prefix: str
    job_id: str | list[str]
    enabled: bool
    description: str = ""
    owner: str = ""
    globals: dict[str, Any] = field(factory=dict)
    parameters: dict[str, Any] = field(factory=dict)
    jinja: bool = True
    delay: Delay = Delay(0)
    if_fnmatch: Patterns = None
    if_not_fnmatch: Patterns = None
    if_size_gt: int | str | None = None
    if_not_size_gt: int | str | None = None
    if_event_type: Patterns = None
    if_not_event_type: Patterns = None
    extras: dict[str, Any] = field(factory=dict)

    @property
    def job_ids(self) -> list[str]:
        return [self.job_id] if isinstance(self.job_id, str) else list(self.job_id)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{'' if self.prefix == WHOLE_BUCKET else self.prefix}"


register_record(S3TriggerEntry, extras_field="extras")


def _problems(data: dict[str, Any]) -> list[str]:
    """Checks beyond types, reported together with the converter's."""
    problems = []
    for name in ("trigger_id", "bucket"):
        if data.get(name) == "":
            problems.append(f"$.{name}: must not be empty")
    prefix = data.get("prefix")
    if prefix == "":
        problems.append(f"$.prefix: must not be empty: use {WHOLE_BUCKET!r} for the whole bucket")
    elif isinstance(prefix, str) and prefix.endswith("/"):
        problems.append(f"$.prefix: {prefix!r} ends with '/': prefixes are matched by whole path components, "
                        f"so it would never match; write {prefix.rstrip('/')!r}")
    job_ids = data.get("job_id")
    jinja = data.get("jinja", True) is not False
    if isinstance(job_ids, list) and not job_ids:
        problems.append("$.job_id: the list is empty")
    for index, job_id in enumerate([job_ids] if isinstance(job_ids, str) else job_ids or []):
        where = "$.job_id" if isinstance(job_ids, str) else f"$.job_id[{index}]"
        if isinstance(job_id, str) and not (jinja and "{" in job_id) and not JOB_ID_RE.match(job_id):
            problems.append(f"{where}: {job_id!r} is not a job id (letters, digits and _ . : @ / + - only)")
    glob = data.get("globals")
    if isinstance(glob, dict):
        problems += [f"$.globals.{k}: global names starting with 'lava' are reserved for lava"
                     for k in glob if isinstance(k, str) and k.lower().startswith(RESERVED_PREFIX)]
    for name in ("if_size_gt", "if_not_size_gt"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                parse_size(value)
            except ValueError as exc:
                problems.append(f"$.{name}: {exc}")
    return problems


def check_entry(data: object, *, source: str | None = None) -> S3TriggerEntry:
    """Structure and check one entry; a SpecError names the trigger and every field at fault."""
    if not isinstance(data, dict):
        raise SpecError([f"$: expected an s3trigger entry map, got {type(data).__name__}"], source=source)
    trigger_id = data.get("trigger_id")
    label = f"s3trigger {trigger_id!r}" if isinstance(trigger_id, str) and trigger_id else "s3trigger (no trigger_id)"
    where = f"{source}: {label}" if source else label
    problems = _problems(data)
    try:
        entry = structure(data, S3TriggerEntry)
    except SpecError as exc:
        problems = exc.problems + [p for p in problems if p not in exc.problems]
        entry = None
    if problems:
        raise SpecError(problems, source=where)
    assert entry is not None
    return entry


# --------------------------------------------------------------------------- conditions


@define(frozen=True)
class ConditionResult:
    """One ``if_*`` check: the configured value, what it was compared with, and the outcome."""

    name: str
    expected: Any
    actual: Any
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {"condition": self.name, "expected": self.expected, "actual": self.actual, "passed": self.passed}


def _any_match(value: str, patterns: str | list[str]) -> bool:
    """lava's glob test: any pattern matches (case-sensitive on every platform)."""
    return any(fnmatch.fnmatchcase(value, p) for p in ([patterns] if isinstance(patterns, str) else patterns))


def evaluate(entry: S3TriggerEntry, info: S3Info) -> list[ConditionResult]:
    """Every condition the entry sets, in lava's order; the entry fires only if all pass.

    ``if_not_X`` is the negation of ``if_X``. An event without a size (a delete)
    counts as size 0.
    """
    size = info.size or 0
    checks: list[tuple[str, Any, Any, bool]] = []
    if entry.if_fnmatch is not None:
        checks.append(("if_fnmatch", entry.if_fnmatch, info.key, _any_match(info.key, entry.if_fnmatch)))
    if entry.if_not_fnmatch is not None:
        checks.append(("if_not_fnmatch", entry.if_not_fnmatch, info.key, not _any_match(info.key, entry.if_not_fnmatch)))
    if entry.if_size_gt is not None:
        checks.append(("if_size_gt", entry.if_size_gt, size, size > parse_size(entry.if_size_gt)))
    if entry.if_not_size_gt is not None:
        checks.append(("if_not_size_gt", entry.if_not_size_gt, size, not size > parse_size(entry.if_not_size_gt)))
    if entry.if_event_type is not None:
        checks.append(("if_event_type", entry.if_event_type, info.event_type,
                       _any_match(info.event_type, entry.if_event_type)))
    if entry.if_not_event_type is not None:
        checks.append(("if_not_event_type", entry.if_not_event_type, info.event_type,
                       not _any_match(info.event_type, entry.if_not_event_type)))
    return [ConditionResult(name, expected, actual, passed) for name, expected, actual, passed in checks]


def prefixes(key: str) -> list[str]:
    """The s3triggers levels looked up for ``key``, most specific first: ``a/b/c`` -> a/b/c, a/b, a, *."""
    parts = key.split("/")
    levels = []
    for end in range(len(parts), 0, -1):
        level = "/".join(parts[:end])
        if level and level not in levels:
            levels.append(level)
    return [*levels, WHOLE_BUCKET]
