"""Durations and sizes as lava writes them (``20m``, ``1.5h``, ``10MiB``)."""

from __future__ import annotations

import pytest

from lava_core.convert import Duration, unstructure
from lava_core.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(("text", "seconds"), [
    ("20m", 1200.0),
    ("1.5h", 5400.0),
    ("30s", 30.0),
    ("2d", 172800.0),
    ("1w", 604800.0),
    ("90", 90.0),
    ("0", 0.0),
    (".5m", 30.0),
    ("1 h", 3600.0),
    (" 20m ", 1200.0),
    (45, 45.0),
    (2.5, 2.5),
])
def test_parse_duration_accepts_lava_spellings(text, seconds):
    result = parse_duration(text)
    assert result == seconds
    assert isinstance(result, float)


@pytest.mark.parametrize("text", ["10M", "20min", "1H", "soon", "", "m", "1.2.3s", "20 m m", "1h30m"])
def test_parse_duration_refuses_bad_text(text):
    with pytest.raises(ValueError, match="expected a duration like '20m'") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


def test_units_are_case_sensitive_10M_is_not_ten_minutes():
    with pytest.raises(ValueError, match=r"got '10M'"):
        parse_duration("10M")
    assert parse_duration("10m") == 600


@pytest.mark.parametrize("value", ["-5", "-1m", -1, -0.5])
def test_negative_durations_are_refused(value):
    with pytest.raises(ValueError, match="negative"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_durations(value):
    # bool is an int subclass; True must not silently mean one second.
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [None, [1], {"m": 1}])
def test_non_scalar_durations_are_type_errors(value):
    with pytest.raises(TypeError, match="expected a duration"):
        parse_duration(value)


def test_nan_is_not_a_duration():
    # NaN compares false with every limit, so it would slip past max checks
    # (iteration_delay <= 5m) and then break time.sleep().
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(float("nan"))


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (1.5, "1.5s"), (90, "90s"), (120, "2m"), (5400, "90m"), (3600, "1h"),
    (86400, "1d"), (604800, "1w"), (1209600, "2w"),
])
def test_format_duration_shortest_exact_spelling(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_duration_remembers_how_it_was_written():
    written = Duration("20m")
    assert written == 1200.0
    assert written.text == "20m"
    assert repr(written) == "Duration('20m')"
    assert unstructure(written) == "20m"
    from_number = Duration(3600)
    assert from_number.text == "1h"
    assert unstructure(from_number) == "1h"
    assert Duration(written) is written


@pytest.mark.parametrize(("text", "size"), [
    ("10M", 10_000_000),
    ("10MB", 10_000_000),
    ("2KiB", 2048),
    ("1K", 1000),
    ("1.5K", 1500),
    ("10MiB", 10 * 1024**2),
    ("3G", 3 * 1000**3),
    ("1GiB", 1024**3),
    ("1T", 1000**4),
    ("1PiB", 1024**5),
    ("512", 512),
    ("512B", 512),
    (" 4K ", 4000),
    (1234, 1234),
])
def test_parse_size(text, size):
    result = parse_size(text)
    assert result == size
    assert isinstance(result, int)


@pytest.mark.parametrize("value", ["10m", "10mb", "2kib", "10X", "K", "", "-1K", "ten", True, 1.5, None])
def test_parse_size_refuses(value):
    with pytest.raises(ValueError, match=r"expected a size like '10M' or '2KiB'"):
        parse_size(value)


def test_parse_size_refuses_negative_numbers_as_it_refuses_negative_text():
    with pytest.raises(ValueError, match="-1K"):
        parse_size("-1K")
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(-5)
