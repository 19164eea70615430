"""The one cattrs converter: strict structuring with every bad field reported by path.

Every lava record goes through :func:`structure`. Errors come back as a
:class:`~lava_core.errors.SpecError` listing *all* problems at once, each as
``$.path.to.field: what was expected, what was found``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from lava_core.errors import SpecError
from lava_core.units import format_duration, parse_duration

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)


class Duration(float):
    """Seconds, remembering how the user wrote them (``'20m'``) for round trips."""

    text: str

    def __new__(cls, value: object) -> Duration:
        if isinstance(value, Duration):
            return value
        obj = super().__new__(cls, parse_duration(value))
        obj.text = value if isinstance(value, str) else format_duration(float(obj))
        return obj

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"


def _type_name(value: object) -> str:
    return {dict: "map", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _strict_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected an integer, got {_type_name(value)} {value!r}"
        raise TypeError(msg)
    return value


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        msg = f"expected true or false, got {_type_name(value)} {value!r}"
        raise TypeError(msg)
    return value


def _strict_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        msg = f"expected a string, got {_type_name(value)} {value!r}"
        raise TypeError(msg)
    return value


def _strict_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"expected a number, got {_type_name(value)} {value!r}"
        raise TypeError(msg)
    return float(value)


def _any(value: object, _: type) -> object:
    return value


converter.register_structure_hook(int, _strict_int)
converter.register_structure_hook(bool, _strict_bool)
converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(float, _strict_float)
converter.register_structure_hook(Any, _any)
converter.register_structure_hook(Duration, lambda v, _: Duration(v))
converter.register_unstructure_hook(Duration, lambda d: d.text)


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _structure_union(value: object, tp: type) -> object:
    """Try each member in order; the first that accepts the value wins."""
    members = typing.get_args(tp)
    if value is None and type(None) in members:
        return None
    concrete = [m for m in members if m is not type(None)]
    if len(concrete) == 1:
        # Optional[X]: X's own error, with its inner path, is the useful one.
        return converter.structure(value, concrete[0])
    failures = []
    for member in members:
        if member is type(None):
            continue
        try:
            return converter.structure(value, member)
        except Exception as exc:  # noqa: BLE001 - each member's refusal is collected and reported
            failures.append(exc)
    names = " or ".join(_union_member_name(m) for m in members)
    msg = f"expected {names}, got {_type_name(value)} {value!r}"
    raise TypeError(msg)


def _union_member_name(tp: object) -> str:
    origin = typing.get_origin(tp) or tp
    return {dict: "a map", list: "a list", str: "a string", bool: "true/false", int: "an integer",
            float: "a number", type(None): "null", Duration: "a duration like '20m'"}.get(
        origin, getattr(origin, "__name__", str(origin)))


converter.register_structure_hook_func(_is_union, _structure_union)


def _is_str_dict(tp: object) -> bool:
    return typing.get_origin(tp) is dict


def _make_dict_hook(tp: type) -> Callable[[object, type], dict[Any, Any]]:
    key_type, value_type = typing.get_args(tp) or (Any, Any)

    def hook(value: object, _: type) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            msg = f"expected a map, got {_type_name(value)} {value!r}"
            raise TypeError(msg)
        if value_type is Any and key_type in (str, Any):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                msg = f"map keys must be strings, got {bad[0]!r}"
                raise TypeError(msg)
            return dict(value)
        return {converter.structure(k, key_type): converter.structure(v, value_type) for k, v in value.items()}

    return hook


converter.register_structure_hook_factory(_is_str_dict, _make_dict_hook)


def _is_list(tp: object) -> bool:
    return typing.get_origin(tp) is list


def _make_list_hook(tp: type) -> Callable[[object, type], list[Any]]:
    (item_type,) = typing.get_args(tp) or (Any,)

    def hook(value: object, _: type) -> list[Any]:
        if not isinstance(value, list | tuple):
            msg = f"expected a list, got {_type_name(value)} {value!r}"
            raise TypeError(msg)
        errors = []
        out = []
        for index, item in enumerate(value):
            try:
                out.append(converter.structure(item, item_type))
            except Exception as exc:  # noqa: BLE001 - gathered into one group with the index path
                exc.__notes__ = [*getattr(exc, "__notes__", []),
                                 IterableValidationNote(f"Structuring item @ index {index}", index, item_type)]
                errors.append(exc)
        if errors:
            raise cattrs.IterableValidationError("list items", errors, tp)
        return out

    return hook


converter.register_structure_hook_factory(_is_list, _make_list_hook)


def register_record(cls: type, *, extras_field: str | None = None) -> None:
    """Register an attrs record: unknown keys refused; ``x-*`` keys kept in ``extras_field``."""
    base = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)
    if extras_field is None:
        converter.register_structure_hook(cls, base)
        return

    def hook(value: object, tp: type) -> object:
        if not isinstance(value, Mapping):
            msg = f"expected a map, got {_type_name(value)} {value!r}"
            raise TypeError(msg)
        plain = {k: v for k, v in value.items() if not _is_extension_key(k)}
        extras = {k: v for k, v in value.items() if _is_extension_key(k)}
        plain[extras_field] = extras
        return base(plain, tp)

    converter.register_structure_hook(cls, hook)


def _is_extension_key(key: object) -> bool:
    return isinstance(key, str) and key[:2] in ("x-", "X-")


def _format_exception(exc: BaseException, _: type | None) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return _UNKNOWN_KEYS + _UNKNOWN_KEYS.join(sorted(map(str, exc.extra_fields)))
    return str(exc)


_UNKNOWN_KEYS = "\x00unknown\x00"


def error_lines(exc: BaseException, root: str = "$") -> list[str]:
    """Flatten a cattrs error group into ``$.path: message`` lines."""
    if isinstance(exc, SpecError):
        return list(exc.problems)
    if not isinstance(exc, cattrs.BaseValidationError):
        return [f"{root}: {exc}"]
    lines = []
    for text in cattrs.transform_error(exc, path=root, format_exception=_format_exception):
        message, _, path = text.rpartition(" @ ")
        if message.startswith(_UNKNOWN_KEYS):
            lines += [f"{path}.{key}: unknown field" for key in message.split(_UNKNOWN_KEYS)[1:]]
        else:
            lines.append(f"{path}: {message}" if message else text)
    return lines


def structure(data: object, cls: type[T], *, source: str | None = None, root: str = "$") -> T:
    """Build ``cls`` from plain data or raise a SpecError naming every bad field."""
    try:
        return converter.structure(data, cls)
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(error_lines(exc, root), source=source) from exc


def unstructure(record: object) -> Any:
    """Plain JSON-able data for a record; ``x-*`` extras are folded back in."""
    data = converter.unstructure(record)
    if attrs.has(type(record)) and isinstance(data, dict) and "extras" in data:
        data.update(data.pop("extras") or {})
    return data
