"""foreach loop sources: where the iteration values come from.

Each source is an attrs record structured from ``parameters.foreach`` (minus
``type``) with the core's converter, so an unknown or mistyped field is reported
as ``$.parameters.foreach.<field>``. ``values()`` yields one map per iteration,
lazily: the foreach job takes at most ``limit + 1`` of them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any, ClassVar

from attrs import define

from lava_core import JobError, LavaError, RunContext, SpecError
from lava_core.convert import register_record, structure

ROOT = "$.parameters.foreach"
WHERE = "parameters.foreach"
RESERVED = "lava"
RESERVED_MESSAGE = 'foreach field names may not start with "lava"'


def reserved_names(values: dict[str, Any]) -> list[str]:
    return [k for k in values if isinstance(k, str) and k.lower().startswith(RESERVED)]


def _failure(message: str) -> JobError:
    return JobError(message, data={"exit_status": 1, "error": message})


@define(frozen=True, kw_only=True)
class InlineSource:
    """``values``: a list of maps, one per iteration (not rendered)."""

    type_name: ClassVar[str] = "inline"
    values: list[dict[str, Any]]

    def check(self) -> list[str]:
        return [f"{ROOT}.values[{i}].{name}: {RESERVED_MESSAGE}"
                for i, item in enumerate(self.values) for name in reserved_names(item)]

    def iterate(self, run: RunContext, *, jinja: bool) -> Iterator[dict[str, Any]]:  # noqa: ARG002 - never rendered
        for item in self.values:
            yield dict(item)


@define(frozen=True, kw_only=True)
class RangeSource:
    """Python's ``range(start, stop, step)``; each value is ``{name: n}``, or ``{}`` without ``name``."""

    type_name: ClassVar[str] = "range"
    stop: int
    start: int = 0
    step: int = 1
    name: str | None = None

    def check(self) -> list[str]:
        problems = []
        if self.step == 0:
            problems.append(f"{ROOT}.step: must not be 0")
        if self.name is not None and reserved_names({self.name: 0}):
            problems.append(f"{ROOT}.name: {RESERVED_MESSAGE}")
        if self.name is not None and not self.name:
            problems.append(f"{ROOT}.name: empty name (leave it out for iterations without a value)")
        return problems

    def iterate(self, run: RunContext, *, jinja: bool) -> Iterator[dict[str, Any]]:  # noqa: ARG002 - never rendered
        for n in range(self.start, self.stop, self.step):
            yield {} if self.name is None else {self.name: n}


def payload_name(run: RunContext, text: str, field: str) -> str:
    """An object name in the realm's payload store; a full URI inside the store is accepted too."""
    root = run.realm.s3_payloads.rstrip("/") + "/"
    name = text.removeprefix(root) if text.startswith(root) else text
    if "://" in name or name.startswith("/") or not name.strip():
        msg = (f"{WHERE}.{field}: {text!r} is not an object of the realm's payload store ({root}); "
               "give its name relative to the store")
        raise _failure(msg)
    return name


def read_payload(run: RunContext, name: str, field: str) -> str:
    try:
        data = run.backend.get_payload(name)
    except LavaError as exc:
        msg = f"{WHERE}.{field}: {exc}"
        raise _failure(msg) from exc
    if data is None:
        msg = f"{WHERE}.{field}: no object {name!r} in the payload store ({run.realm.s3_payloads})"
        raise _failure(msg)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{WHERE}.{field}: {name} is not UTF-8 text: {exc}"
        raise _failure(msg) from exc


def _rendered(run: RunContext, text: str, field: str, *, jinja: bool) -> str:
    return run.render(text, where=f"{WHERE}.{field}") if jinja else text


@define(frozen=True, kw_only=True)
class CsvSource:
    """``filename``: a CSV object in the payload store; each row is a map keyed by the header (strings)."""

    type_name: ClassVar[str] = "csv"
    filename: str

    def check(self) -> list[str]:
        return [] if self.filename.strip() else [f"{ROOT}.filename: empty file name"]

    def iterate(self, run: RunContext, *, jinja: bool) -> Iterator[dict[str, Any]]:
        name = payload_name(run, _rendered(run, self.filename, "filename", jinja=jinja), "filename")
        reader = csv.DictReader(io.StringIO(read_payload(run, name, "filename"), newline=""))
        try:
            header = reader.fieldnames or []
            bad = reserved_names(dict.fromkeys(header))
            if bad:
                raise _failure(f"{name}: {RESERVED_MESSAGE}: {', '.join(bad)}")
            duplicates = sorted({h for h in header if header.count(h) > 1})
            if duplicates or "" in header:
                raise _failure(f"{name}: the header has duplicate or empty column names: {header}")
            for row in reader:
                if None in row:
                    raise _failure(f"{name}: line {reader.line_num}: more fields than the header has columns")
                yield row
        except csv.Error as exc:
            raise _failure(f"{name}: line {reader.line_num}: {exc}") from exc


@define(frozen=True, kw_only=True)
class JsonlSource:
    """``filename``: a JSON Lines object in the payload store; one JSON object per line (blank lines skipped)."""

    type_name: ClassVar[str] = "jsonl"
    filename: str

    def check(self) -> list[str]:
        return [] if self.filename.strip() else [f"{ROOT}.filename: empty file name"]

    def iterate(self, run: RunContext, *, jinja: bool) -> Iterator[dict[str, Any]]:
        name = payload_name(run, _rendered(run, self.filename, "filename", jinja=jinja), "filename")
        for number, line in enumerate(read_payload(run, name, "filename").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _failure(f"{name}: line {number}: {exc.msg} (column {exc.colno})") from exc
            if not isinstance(value, dict):
                raise _failure(f"{name}: line {number}: expected a JSON object, got {type(value).__name__}")
            bad = reserved_names(value)
            if bad:
                raise _failure(f"{name}: line {number}: {RESERVED_MESSAGE}: {', '.join(bad)}")
            yield value


@define(frozen=True, kw_only=True)
class S3ListSource:
    """The payload store's objects under ``prefix`` (recursive), filtered by ``glob`` on their names.

    Each value is ``{"s3obj": {"Key", "Size", "Uri"}}``: ``Key`` is the object's
    name in the payload store (what ``filename`` or an exe payload takes),
    ``Size`` its size in bytes, ``Uri`` its full location.
    """

    type_name: ClassVar[str] = "s3list"
    prefix: str = ""
    glob: str | list[str] | None = None

    def check(self) -> list[str]:
        return []

    def iterate(self, run: RunContext, *, jinja: bool) -> Iterator[dict[str, Any]]:
        prefix = _rendered(run, self.prefix, "prefix", jinja=jinja)
        globs = [self.glob] if isinstance(self.glob, str) else self.glob
        root = run.realm.s3_payloads.rstrip("/")
        try:
            listing = run.backend.list_payloads(prefix)
        except LavaError as exc:
            msg = f"{WHERE}.prefix: cannot list {prefix!r}: {exc}"
            raise _failure(msg) from exc
        for key, size in listing:
            if globs is None or any(fnmatchcase(key, g) for g in globs):
                yield {"s3obj": {"Key": key, "Size": size, "Uri": f"{root}/{key}"}}


Source = InlineSource | RangeSource | CsvSource | JsonlSource | S3ListSource
SOURCES: dict[str, type[Source]] = {cls.type_name: cls for cls in (InlineSource, RangeSource, CsvSource, JsonlSource,
                                                                     S3ListSource)}
for _cls in SOURCES.values():
    register_record(_cls)


def load_source(spec: dict[str, Any]) -> tuple[Source | None, list[str]]:
    """The source ``parameters.foreach`` describes, or None and the problems (each with its path)."""
    kind = spec.get("type")
    if kind is None:
        return None, [f"{ROOT}.type: required field missing"]
    if kind not in SOURCES:
        known = ", ".join(sorted(SOURCES))
        return None, [f"{ROOT}.type: no foreach source {kind!r} (known: {known})"]
    try:
        source = structure({k: v for k, v in spec.items() if k != "type"}, SOURCES[kind], root=ROOT)
    except SpecError as exc:
        return None, exc.problems
    return source, source.check()
