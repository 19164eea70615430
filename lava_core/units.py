"""Durations (``20m``) and sizes (``10MiB``) as lava writes them."""

from __future__ import annotations

import math
import re

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([smhdw]?)$")

_SIZE_UNITS = {
    "": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3, "GB": 1000**3,
    "T": 1000**4, "TB": 1000**4, "P": 1000**5, "PB": 1000**5,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5,
}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([A-Za-z]*)$")


def parse_duration(value: object) -> float:
    """Seconds in a lava duration: a number (seconds) or ``<number><s|m|h|d|w>``.

    Units are case-sensitive as in lava (``10M`` is not a duration). Negative
    durations are refused: nothing in lava means anything by them.
    """
    if isinstance(value, bool):
        msg = f"expected a duration like '20m', got {value!r}"
        raise ValueError(msg)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match("".join(value.split()))
        if not match:
            msg = f"expected a duration like '20m', got {value!r}"
            raise ValueError(msg)
        seconds = float(match.group(1)) * _DURATION_UNITS.get(match.group(2) or "s", 1)
    else:
        msg = f"expected a duration like '20m', got {value!r}"
        raise TypeError(msg)
    if not math.isfinite(seconds) or seconds < 0:
        kind = "negative " if seconds < 0 else ""
        msg = f"expected a duration like '20m', got {kind}{value!r}"
        raise ValueError(msg)
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact lava spelling of ``seconds`` (``90`` -> ``90s``, ``3600`` -> ``1h``)."""
    for unit in ("w", "d", "h", "m"):
        size = _DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_size(value: object) -> int:
    """Bytes in a lava size: ``1K`` = 1000, ``1KiB`` = 1024; units are case-sensitive."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value.strip())
        if match and match.group(2) in _SIZE_UNITS:
            return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    msg = f"expected a size like '10M' or '2KiB', got {value!r}"
    raise ValueError(msg)
