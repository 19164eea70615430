"""What lavasched finds out about the host: CRON_TZ support of the real cron binary, zones, the lava command."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from lava_lavasched.host import cron_tz_support, find_cron_daemon, is_host_zone, lava_command, mentions_cron_tz


def test_debian_cron_binary_is_found_and_ignores_cron_tz(tmp_path):
    if not Path("/usr/sbin/cron").is_file():
        pytest.skip("Debian's cron is not installed: bash scripts/infra/cron.sh")
    empty_proc = tmp_path / "proc"  # no running daemon: the installed binary is inspected
    empty_proc.mkdir()
    assert find_cron_daemon(proc=empty_proc) == Path("/usr/sbin/cron")
    support = cron_tz_support(proc=empty_proc)
    assert support.honoured is False
    assert support.how == "/usr/sbin/cron has no CRON_TZ in it"
    # Whatever runs on this machine (a daemon or none), Debian's cron is what is found.
    assert cron_tz_support().honoured is False


def test_a_running_daemon_is_found_through_proc(tmp_path):
    fake = tmp_path / "proc" / "4242"
    fake.mkdir(parents=True)
    (fake / "comm").write_text("crond\n")
    binary = tmp_path / "cronie-crond"
    binary.write_bytes(b"\x7fELF" + b"\0" * (1 << 20) + b"CRON_TZ" + b"\0" * 10)
    (fake / "exe").symlink_to(binary)
    assert find_cron_daemon(proc=tmp_path / "proc") == binary
    support = cron_tz_support(proc=tmp_path / "proc")
    assert support.honoured is True
    assert support.how == f"{binary} knows CRON_TZ"


def test_cron_tz_string_split_across_read_chunks_is_found(tmp_path):
    binary = tmp_path / "b"
    binary.write_bytes(b"x" * ((1 << 20) - 3) + b"CRON_TZ")
    assert mentions_cron_tz(binary)
    busybox = shutil.which("busybox")
    if busybox:
        assert not mentions_cron_tz(Path(busybox))  # busybox crond has no CRON_TZ either


def test_setting_overrides_detection():
    assert cron_tz_support("yes").honoured is True
    assert cron_tz_support("NO").honoured is False
    assert cron_tz_support("no").how == "LAVASCHED_CRON_TZ=no"
    with pytest.raises(ValueError, match="must be yes or no, got 'maybe'"):
        cron_tz_support("maybe")


def test_host_zone_equivalence():
    host = Path("/etc/localtime")
    if not host.is_symlink() or not str(host.resolve()).endswith(("/UTC", "/Etc/UTC")):
        pytest.skip(f"this check expects a host in UTC, /etc/localtime is {host.resolve()}")
    for name in ("UTC", "Etc/UTC", "Etc/GMT", "Zulu", "GMT0"):
        assert is_host_zone(name), name
    for name in ("Europe/London", "Africa/Abidjan", "Australia/Sydney", "America/New_York"):
        assert not is_host_zone(name), name


def test_lava_command_is_the_absolute_console_script():
    (command,) = lava_command()
    assert command == str(Path(sys.executable).absolute().parent / "lava")
    assert os.access(command, os.X_OK)
