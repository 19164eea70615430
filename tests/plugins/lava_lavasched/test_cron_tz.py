"""The CRON_TZ rule, both ways, through real lavasched runs (local realm: the rule does not depend on the backend).

The host's cron is Debian's, which ignores CRON_TZ; ``LAVASCHED_CRON_TZ=yes`` stands for a cron that
honours it (cronie). The host is expected to run in UTC (as the CI machines do).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lava_core.testing import put_jobs

from tests.plugins.lava_lavasched.helpers import error_of, result_of, run_sched


NAIVE_TO = (datetime.now(UTC) + timedelta(hours=5)).replace(tzinfo=None, microsecond=0).isoformat()


@pytest.fixture
def realm(lava_realm, crontab):
    if not str(Path("/etc/localtime").resolve()).endswith(("/UTC", "/Etc/UTC")):
        pytest.skip(f"these checks expect a host in UTC, /etc/localtime is {Path('/etc/localtime').resolve()}")
    crontab.install(b"0 1 * * * mine\n")
    # Wall time five hours ahead of UTC, written without a zone: still to come when read as UTC,
    # already past when read in Sydney (UTC+10/+11). The window shows which zone lavasched read it in.
    put_jobs(lava_realm, {"job_id": "j", "type": "cmd", "payload": "true", "dispatcher": "D",
                          "schedule": [{"crontab": "0 9 * * *", "to": NAIVE_TO}, "0 18 * * *"]})
    return lava_realm


def test_ignored_cron_tz_in_another_zone_is_refused_naming_the_embedded_dispatcher(realm, crontab, monkeypatch):
    monkeypatch.setenv("LAVA_LAVASCHED_CRON_TZ", "no")
    event, _ = run_sched(realm, {"dispatcher": ["D", "E"], "env": {"CRON_TZ": "Australia/Sydney"}})
    assert error_of(event) == (
        "CRON_TZ=Australia/Sydney cannot be honoured: the host's cron ignores CRON_TZ (LAVASCHED_CRON_TZ=no) and "
        "reads every entry in the host's zone (Etc/UTC), so the schedules would fire at the wrong times. Use the "
        "embedded dispatcher, which runs schedules in any zone: lava dispatcher run --dispatcher D --zone "
        "Australia/Sydney; lava dispatcher run --dispatcher E --zone Australia/Sydney (and suspend this lavasched "
        "job), or remove CRON_TZ and write the schedules in the host's zone. If this host's cron does honour "
        "CRON_TZ, set LAVASCHED_CRON_TZ=yes. The crontab was left unchanged.")
    assert crontab.read() == b"0 1 * * * mine\n"


def test_detection_on_the_real_debian_cron_refuses_too(realm, crontab, monkeypatch):
    monkeypatch.delenv("LAVA_LAVASCHED_CRON_TZ", raising=False)
    event, _ = run_sched(realm, {"dispatcher": "D", "env": {"CRON_TZ": "America/New_York"}})
    error = error_of(event)
    assert "the host's cron ignores CRON_TZ (/usr/sbin/cron has no CRON_TZ in it)" in error
    assert "lava dispatcher run --dispatcher D --zone America/New_York" in error
    assert crontab.read() == b"0 1 * * * mine\n"


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Etc/GMT"])
def test_ignored_cron_tz_in_the_hosts_zone_is_dropped(realm, crontab, monkeypatch, zone):
    monkeypatch.setenv("LAVA_LAVASCHED_CRON_TZ", "no")
    result = result_of(run_sched(realm, {"dispatcher": "D", "env": {"CRON_TZ": zone}})[0])
    assert result["cron_tz"] == {
        "honoured": False, "how": "LAVASCHED_CRON_TZ=no",
        "line": f"dropped: the host's cron ignores CRON_TZ, and {zone} is the host's zone (Etc/UTC), so the "
                "entries fire at the times written"}
    text = crontab.text()
    assert "CRON_TZ" not in text
    assert " 0 9 * * * " not in text and "\n0 9 * * * " in text  # the naive window bound was read in UTC
    assert "\n0 18 * * * " in text


def test_honoured_cron_tz_is_written_and_windows_are_read_in_its_zone(realm, crontab, monkeypatch):
    monkeypatch.setenv("LAVA_LAVASCHED_CRON_TZ", "yes")
    result = result_of(run_sched(realm, {"dispatcher": "D", "env": {"CRON_TZ": "Australia/Sydney"}})[0])
    assert result["cron_tz"]["line"] == "written: CRON_TZ=Australia/Sydney"
    lines = crontab.text().splitlines()
    assert lines[3] == "CRON_TZ=Australia/Sydney"  # sorted first among the variables
    assert lines[4].startswith("LAVA_REALM=")
    assert not any(line.startswith("0 9 * * * ") for line in lines)  # the window already ended in Sydney
    to = datetime.fromisoformat(NAIVE_TO).replace(tzinfo=ZoneInfo("Australia/Sydney")).astimezone(UTC)
    assert result["skipped"] == [{"job_id": "j", "entry": 0,
                                  "reason": f"outside its window at build time (from any time to {to.isoformat()})"}]
    assert any(line.startswith("0 18 * * * ") for line in lines)
