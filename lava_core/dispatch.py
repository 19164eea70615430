"""Dispatch requests and messages: one parser for both of lava's request formats.

CLI-style lines (``JOB [-d DUR] [-p a.b=v]... [-g k=v]...``) and JSON requests
(``{"job_id", "parameters", "globals", "delay"}``) become :class:`DispatchRequest`
records; :func:`send` turns a request into a message on the job's fleet queue.
The CLI, the Python API and the dispatch helper all use this module.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from attrs import define, evolve, field

from lava_core.backend.base import MAX_DELAY
from lava_core.convert import Duration, converter, register_record, structure
from lava_core.errors import DispatchError, SpecError
from lava_core.records import JOB_ID_RE, DispatchMessage, load_job

if TYPE_CHECKING:
    from lava_core.backend import Backend



class Delay(Duration):
    """A message delay: a duration of at most 15 minutes."""

    def __new__(cls, value: object) -> Delay:
        obj = super().__new__(cls, value)
        if obj > MAX_DELAY:
            msg = f"delay must be at most 15m, got {obj.text!r}"
            raise ValueError(msg)
        return obj


converter.register_structure_hook(Delay, lambda v, _: Delay(v))
converter.register_unstructure_hook(Delay, lambda d: d.text)


@define(frozen=True, kw_only=True)
class DispatchRequest:
    """What a user asks for: run ``job_id`` with these overrides, after ``delay``."""

    job_id: str
    parameters: dict[str, Any] = field(factory=dict)
    globals: dict[str, Any] = field(factory=dict)
    delay: Delay = Delay(0)
    extras: dict[str, Any] = field(factory=dict)


register_record(DispatchRequest, extras_field="extras")


def _checked(request: DispatchRequest, root: str = "$") -> DispatchRequest:
    if not JOB_ID_RE.match(request.job_id):
        raise SpecError([f"{root}.job_id: {request.job_id!r} is not a job id "
                         "(letters, digits and _ . : @ / + - only)"])
    return request


# --------------------------------------------------------------------------- dotted names


def set_dotted(target: dict[str, Any], name: str, value: Any) -> None:
    """``set_dotted(d, "vars.location", "Isabela")`` -> ``d["vars"]["location"] = "Isabela"``.

    A name that would replace a map with a value (or the reverse) is an error
    rather than a silent overwrite.
    """
    parts = name.split(".")
    if not all(parts):
        msg = f"{name!r}: empty component in dotted name"
        raise ValueError(msg)
    node = target
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            msg = f"{name!r} conflicts with {'.'.join(parts[:depth + 1])!r} set earlier"
            raise ValueError(msg)
        node = child
    if isinstance(node.get(parts[-1]), dict):
        msg = f"{name!r} conflicts with {name + '.*'!r} set earlier"
        raise ValueError(msg)
    node[parts[-1]] = value


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` (value kept as a string, as lava does) or ``name:=json`` (typed)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        msg = f"expected NAME=VALUE, got {text!r}"
        raise ValueError(msg)
    if name.endswith(":"):
        try:
            return name[:-1], json.loads(value)
        except json.JSONDecodeError as exc:
            msg = f"{name[:-1]}: value after ':=' is not JSON: {exc.msg}"
            raise ValueError(msg) from None
    return name, value


# --------------------------------------------------------------------------- parsing


_FLAGS = {"-d": "delay", "--delay": "delay", "-p": "param", "--param": "param",
          "-g": "global", "--global": "global"}


def parse_cli_tokens(tokens: list[str]) -> DispatchRequest:
    """One CLI-style request from already-split tokens."""
    job_id: str | None = None
    delay: Any = 0
    parameters: dict[str, Any] = {}
    globals_: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        flag, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        if flag in _FLAGS:
            if eq:
                value = inline
            elif i + 1 < len(tokens):
                i += 1
                value = tokens[i]
            else:
                msg = f"{token} needs a value"
                raise ValueError(msg)
            kind = _FLAGS[flag]
            if kind == "delay":
                delay = value
            else:
                name, parsed = parse_assignment(value)
                set_dotted(parameters if kind == "param" else globals_, name, parsed)
        elif token.startswith("-") and len(token) > 1:
            msg = f"unknown option {token} (expected -d/--delay, -p/--param, -g/--global)"
            raise ValueError(msg)
        elif job_id is None:
            job_id = token
        else:
            msg = f"more than one job id: {job_id!r} and {token!r}"
            raise ValueError(msg)
        i += 1
    if job_id is None:
        msg = "no job id"
        raise ValueError(msg)
    return _checked(structure({"job_id": job_id, "parameters": parameters, "globals": globals_, "delay": delay},
                              DispatchRequest))


def parse_cli_text(text: str) -> tuple[list[DispatchRequest], list[str]]:
    """Every request in a CLI-style text; bad lines are reported and do not stop the rest."""
    requests, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            tokens = shlex.split(line, comments=True)
            if tokens:
                requests.append(parse_cli_tokens(tokens))
        except (ValueError, SpecError) as exc:
            errors.append(f"line {number}: {_one_line(exc)}")
    return requests, errors


def parse_json_requests(data: object) -> tuple[list[DispatchRequest], list[str]]:
    """JSON requests: an object or a list of objects; each bad item is reported by its path."""
    items = data if isinstance(data, list) else [data]
    root = "$" if not isinstance(data, list) else None
    requests, errors = [], []
    for index, item in enumerate(items):
        path = root or f"$[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{path}: expected a request map with job_id, got {type(item).__name__}")
            continue
        try:
            requests.append(_checked(structure(item, DispatchRequest, root=path), path))
        except SpecError as exc:
            errors += exc.problems
    return requests, errors


def parse_requests(text: str) -> tuple[list[DispatchRequest], list[str]]:
    """A message body in either format: JSON when it parses to a map or list, else CLI lines."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict | list):
        if not data:
            return [], ["$: empty JSON body: expected a request map or a non-empty list of them"]
        return parse_json_requests(data)
    if data is not None or text.strip() == "null":
        return [], [f"$: a JSON body must be a request map or a list of them, got {type(data).__name__} {data!r:.60}"]
    return parse_cli_text(text)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        return "; ".join(p.removeprefix("$.") for p in exc.problems)
    return str(exc)


# --------------------------------------------------------------------------- sending


def send(backend: Backend, request: DispatchRequest, *, worker: str | None = None,
         sender_globals: dict[str, Any] | None = None, run_id: str | None = None) -> DispatchMessage:
    """Put a dispatch message for ``request`` on its job's fleet queue.

    Without ``worker`` the job is looked up (it must exist and be valid) to find
    its fleet. ``sender_globals`` are the dispatching job's globals; the
    request's own globals win over them.
    """
    if worker is None:
        spec = backend.get_job(request.job_id)
        if spec is None:
            msg = f"cannot dispatch {request.job_id!r}: no such job in realm {backend.realm_name!r}"
            raise DispatchError(msg, job_id=request.job_id)
        job = load_job(spec, source=f"job {request.job_id}")
        worker = job.worker
    message = DispatchMessage(realm=backend.realm_name, worker=worker, job_id=request.job_id,
                              parameters=dict(request.parameters),
                              globals={**(sender_globals or {}), **request.globals})
    if run_id is not None:  # a sender that records the run before sending it (the dispatcher)
        message = evolve(message, run_id=run_id)
    try:
        backend.send_message(worker, _jsonable(message.to_body()), delay=float(request.delay))
    except Exception as exc:
        msg = f"cannot dispatch {request.job_id!r} to fleet {worker!r}: {exc}"
        raise DispatchError(msg, job_id=request.job_id) from exc
    return message


def _jsonable(value: Any) -> Any:
    """Datetimes travel as ISO strings (as lava does); everything else must be JSON already."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dispatch(realm: Backend | str | None, job_id: str, *, parameters: dict[str, Any] | None = None,
             globals: dict[str, Any] | None = None, delay: float | str = 0,  # noqa: A002 - lava's field name
             worker: str | None = None) -> str:
    """Dispatch ``job_id`` in ``realm`` (a backend, a realm spec, or None for the default); returns the run_id."""
    from lava_core.backend import Backend, open_realm  # noqa: PLC0415 - avoids an import cycle

    backend = realm if isinstance(realm, Backend) else open_realm(realm)
    try:
        request = structure({"job_id": job_id, "parameters": parameters or {}, "globals": globals or {},
                             "delay": delay}, DispatchRequest)
    except SpecError as exc:
        raise DispatchError("; ".join(exc.problems), job_id=job_id) from exc
    return send(backend, request, worker=worker).run_id


__all__ = ["DispatchRequest", "dispatch", "parse_cli_text", "parse_json_requests",
           "parse_requests", "send", "set_dotted"]
