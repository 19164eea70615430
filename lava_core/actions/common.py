"""What the post-job actions share: their error class and field types that may be templates.

Every action field is rendered with Jinja. A field that is not a string once
rendered (a delay, a TTL, a choice) is declared with one of the ``Templated*``
types below: a literal value is checked when the spec is validated (``lava job
put``), a template is checked after rendering, with the same message. Plugins
that add actions may use them too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from lava_core.convert import Duration, converter
from lava_core.dispatch import Delay
from lava_core.errors import LavaError

if TYPE_CHECKING:
    from lava_core.run import ActionContext


class ActionError(LavaError):
    """A post-job action could not do what it was asked; the message names the field or peer at fault."""


def is_template(value: object) -> bool:
    """A string Jinja would change: it holds an expression, a statement or a comment."""
    return isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))


class Renderer(Protocol):
    """What renders a field: an :class:`~lava_core.run.ActionContext` or a job's ``RunContext``."""

    def render(self, source: str, *, where: str) -> str: ...


class TemplatedDuration:
    """A duration (``20m``, ``90``) or a template that renders to one."""

    kind: ClassVar[type[Duration]] = Duration

    def __init__(self, value: object) -> None:
        self.template = value if is_template(value) else None
        self.value = None if self.template is not None else self.parse(value)

    @classmethod
    def parse(cls, value: object) -> Duration:
        return cls.kind(value)

    @classmethod
    def structure(cls, value: object, _: type) -> Self:
        if isinstance(value, TemplatedDuration):
            return cls(value.template if value.template is not None else value.value)
        return cls(value)

    def resolve(self, ctx: Renderer | None, *, where: str) -> Duration:
        """The duration, rendering the template first (not when ``ctx`` is None: no Jinja).

        ActionError naming ``where`` if the result is not a valid duration.
        """
        if self.template is None:
            assert self.value is not None
            return self.value
        rendered = ctx.render(self.template, where=where).strip() if ctx is not None else self.template
        try:
            return self.parse(rendered)
        except (TypeError, ValueError) as exc:
            msg = f"{where}: {exc}" + _origin(self.template, rendered=ctx is not None)
            raise ActionError(msg) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.template if self.template is not None else self.value!r})"


class TemplatedDelay(TemplatedDuration):
    """A message delay: 0 to 15 minutes (SQS's limit), or a template that renders to one."""

    kind = Delay


class TemplatedChoice(str):
    """One of ``choices`` (checked when the spec is validated), or a template checked after rendering."""

    choices: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # By class, so it wins over the converter's hook for plain strings.
        converter.register_structure_hook(cls, cls.structure)

    @classmethod
    def structure(cls, value: object, _: type) -> Self:
        if not isinstance(value, str):
            msg = f"expected one of {', '.join(cls.choices)}, got {value!r}"
            raise TypeError(msg)
        if not is_template(value):
            cls._check(value)
        return cls(value)

    @classmethod
    def _check(cls, value: str) -> str:
        if value not in cls.choices:
            msg = f"expected one of {', '.join(cls.choices)}, got {value!r}"
            raise ValueError(msg)
        return value

    def resolve(self, ctx: Renderer | None, *, where: str) -> str:
        """The value, rendering it first (not when ``ctx`` is None); ActionError naming ``where`` if not a choice."""
        rendered = ctx.render(str(self), where=where).strip() if ctx is not None else str(self)
        try:
            return self._check(rendered)
        except ValueError as exc:
            msg = f"{where}: {exc}" + _origin(str(self), rendered=ctx is not None)
            raise ActionError(msg) from None


def _origin(template: str, *, rendered: bool) -> str:
    return f" (rendered from {template!r})" if rendered else " (a template, but Jinja is off)"


def _is_subclass_of(base: type) -> Any:
    return lambda tp: isinstance(tp, type) and issubclass(tp, base)


converter.register_structure_hook_func(_is_subclass_of(TemplatedDuration), lambda v, tp: tp.structure(v, tp))


def render_message(ctx: ActionContext, message: str | dict[str, Any], *, where: str = "message") -> str:
    """A message body: a string is rendered; a map is rendered leaf by leaf, then JSON-encoded.

    lava renders a map by JSON-encoding it first and rendering the text, so a
    rendered value holding a quote or a line break breaks it; leaf by leaf it cannot.
    """
    if isinstance(message, str):
        return ctx.render(message, where=where)
    return json.dumps(ctx.render_obj(message, where=where), default=str)


def render_optional(ctx: ActionContext, value: str | None, *, where: str) -> str | None:
    return None if value is None else ctx.render(value, where=where)


def truthy(value: object) -> bool:
    """A boolean setting as lava reads config: true/t/yes/y/on or a non-zero integer."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text.lstrip("-").isdigit():
        return int(text) != 0
    return text in ("true", "t", "yes", "y", "on")


def redact_url(url: str) -> str:
    """A URL safe to record: scheme and host only (webhook paths and queries are secrets)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<not a URL>"
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…"


__all__ = ["ActionError", "Renderer", "TemplatedChoice", "TemplatedDelay", "TemplatedDuration", "is_template",
           "redact_url", "render_message", "render_optional", "truthy"]
