"""Jinja rendering: one sandboxed environment, leaf-by-leaf rendering of structures.

lava renders with a plain, unsandboxed Jinja template and renders whole maps by
dumping them to JSON first (so quotes in values break them). We render each
string leaf on its own, in a sandbox, keeping non-string values as they are.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os.path
import re
import shlex
import types
import uuid
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from lava_core.errors import LavaError


class RenderError(LavaError):
    """A template could not be rendered; the message names the field and the cause."""


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, except that touching an unsafe attribute fails at once.

    The stock sandbox turns ``{{ ''.__class__ }}`` alone into an empty string
    (it only fails when the result is used further): an attempt to escape should
    be an error that names the attribute, not a silent blank.
    """

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        msg = f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        raise SecurityError(msg)


_env = _Sandbox(undefined=jinja2.Undefined, autoescape=False, keep_trailing_newline=True)


def _s3_split(value: str) -> tuple[str, str]:
    for prefix in ("s3://", "s3:", "/"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    bucket, _, key = value.partition("/")
    return bucket, key


# `utils` as lava exposes it to templates (no modules that reach the OS).
utils = types.SimpleNamespace(
    datetime=_dt.datetime, date=_dt.date, time=_dt.time, timedelta=_dt.timedelta, timezone=_dt.timezone,
    path=types.SimpleNamespace(basename=os.path.basename, dirname=os.path.dirname, join=os.path.join,
                               splitext=os.path.splitext),
    re=types.SimpleNamespace(match=re.match, search=re.search, sub=re.sub, split=re.split,
                             findall=re.findall, fullmatch=re.fullmatch, escape=re.escape),
    uuid=lambda: str(uuid.uuid4()),
    s3bucket=lambda s: _s3_split(s)[0],
    s3key=lambda s: _s3_split(s)[1],
)


@functools.lru_cache(maxsize=1024)
def _compile(source: str) -> jinja2.Template:
    return _env.from_string(source)


def render_str(source: str, variables: dict[str, Any], *, where: str = "template") -> str:
    """Render one template string; strings without ``{`` are returned untouched (fast path)."""
    if "{" not in source:
        return source
    try:
        return _compile(source).render(variables)
    except jinja2.TemplateError as exc:
        msg = f"{where}: {type(exc).__name__}: {exc}"
        raise RenderError(msg) from exc


_TEMPLATE_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def split_words(text: str) -> list[str]:
    """Shell-style words of a command line, keeping each Jinja expression whole.

    ``run.sh {{ globals.n }}`` is two words, not four, so templates may contain
    spaces; each word is rendered on its own afterwards, so a rendered value
    with spaces still stays one argument (lava rendered after splitting, so a
    template with a space broke apart).
    """
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    words = shlex.split(_TEMPLATE_SPAN.sub(hide, text))
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], word) for word in words]


def render_obj(value: Any, variables: dict[str, Any], *, where: str = "$") -> Any:
    """Render every string leaf of a JSON-like structure, keeping types of other leaves."""
    if isinstance(value, str):
        return render_str(value, variables, where=where)
    if isinstance(value, dict):
        return {k: render_obj(v, variables, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_obj(v, variables, where=f"{where}[{i}]") for i, v in enumerate(value)]
    return value
