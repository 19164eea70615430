"""The DST rule of lava_core.schedule, pinned with a table of zones and dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lava_core.errors import SpecError
from lava_core.schedule import next_fire, parse_schedule, ticks
import itertools


def fires(zone_name, crontab, day):
    """Instants (UTC, ISO) a schedule fires on the local calendar day ``day`` (+/- a little)."""
    zone = ZoneInfo(zone_name)
    start = datetime.fromisoformat(day).replace(tzinfo=zone) - timedelta(hours=1)
    entry = parse_schedule(crontab, zone)[0]
    return [t.at.strftime("%Y-%m-%dT%H:%MZ") for t in ticks(entry, start, start + timedelta(hours=24), zone) if t.fires]


# zone, date of the change, crontab, expected fires that day (UTC), what the change does
DAILY_CASES = [
    ("America/New_York", "2026-03-08", "30 2 * * *", ["2026-03-08T07:00Z"], "02:30 missing: at 03:00 EDT"),
    ("America/New_York", "2026-11-01", "30 1 * * *", ["2026-11-01T05:30Z"], "01:30 twice: the EDT one"),
    ("Europe/London", "2026-03-29", "30 1 * * *", ["2026-03-29T01:00Z"], "01:30 missing: at 02:00 BST"),
    ("Europe/London", "2026-10-25", "30 1 * * *", ["2026-10-25T00:30Z"], "01:30 twice: the BST one"),
    ("Australia/Sydney", "2026-10-04", "30 2 * * *", ["2026-10-03T16:00Z"], "02:30 missing: at 03:00 AEDT"),
    ("Australia/Sydney", "2026-04-05", "30 2 * * *", ["2026-04-04T15:30Z"], "02:30 twice: the AEDT one"),
    ("Australia/Lord_Howe", "2026-10-04", "15 2 * * *", ["2026-10-03T15:30Z"], "30-minute gap: at 02:30"),
    ("Australia/Lord_Howe", "2026-04-05", "45 1 * * *", ["2026-04-04T14:45Z"], "30-minute fold: first"),
    ("America/Havana", "2026-03-08", "0 0 * * *", ["2026-03-08T05:00Z"], "midnight missing: at 01:00"),
    ("America/Havana", "2026-11-01", "0 0 * * *", ["2026-11-01T04:00Z"], "midnight twice: the first"),
    ("America/New_York", "2026-03-09", "30 2 * * *", ["2026-03-09T06:30Z"], "an ordinary day after"),
]


@pytest.mark.parametrize(("zone", "day", "crontab", "expected", "why"), DAILY_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in DAILY_CASES])
def test_daily_schedules_fire_once_on_dst_days(zone, day, crontab, expected, why):
    assert fires(zone, crontab, day) == expected, why


@pytest.mark.parametrize(("zone", "day"), [
    ("America/New_York", "2026-03-08"), ("America/New_York", "2026-11-01"),
    ("Europe/London", "2026-03-29"), ("Europe/London", "2026-10-25"),
    ("Australia/Sydney", "2026-10-04"), ("Australia/Sydney", "2026-04-05"),
    ("America/Havana", "2026-03-08"), ("America/Havana", "2026-11-01"),
])
def test_hourly_schedules_keep_one_fire_per_elapsed_hour(zone, day):
    got = [datetime.strptime(f, "%Y-%m-%dT%H:%MZ") for f in fires(zone, "0 * * * *", day)]
    steps = {b - a for a, b in itertools.pairwise(got)}
    assert steps == {timedelta(hours=1)}


def test_sub_hourly_schedules_follow_elapsed_time_through_a_half_hour_fold():
    zone = ZoneInfo("Australia/Lord_Howe")  # 02:00 LHDT -> 01:30 LHST on 2026-04-05
    entry = parse_schedule("*/15 * * * *", zone)[0]
    start = datetime(2026, 4, 5, 1, 0, tzinfo=zone)
    got = [t for t in ticks(entry, start, start + timedelta(hours=2), zone) if t.fires]
    steps = {b.at - a.at for a, b in itertools.pairwise(got)}
    assert steps == {timedelta(minutes=15)}
    assert [t.dst for t in got].count("fold: repeated hour") == 2  # 01:30 and 01:45 ran twice


def test_gap_ticks_of_hourly_schedules_are_reported_not_fired():
    zone = ZoneInfo("America/New_York")
    entry = parse_schedule("0 * * * *", zone)[0]
    start = datetime(2026, 3, 8, 0, 30, tzinfo=zone)
    all_ticks = list(ticks(entry, start, start + timedelta(hours=3), zone))
    skipped = [t for t in all_ticks if t.at is None]
    assert [(t.wall.hour, t.dst) for t in skipped] == [(2, "gap: 02:00:00 does not exist; skipped")]


def test_windows_inclusive_exclusive_and_local():
    zone = ZoneInfo("Europe/London")
    inside, outside = parse_schedule([
        {"crontab": "0 12 * * *", "from": "2026-06-10T00:00", "to": "2026-06-12T23:59"},
        {"crontab": "0 12 * * *", "from": "2026-06-12T00:00+01:00", "to": "2026-06-10T23:59+01:00"},
    ], zone)
    start = datetime(2026, 6, 8, tzinfo=UTC)
    days = {e.index: [(t.at.day, t.active) for t in ticks(e, start, start + timedelta(days=6), zone)]
            for e in (inside, outside)}
    assert days[0] == [(8, False), (9, False), (10, True), (11, True), (12, True), (13, False)]
    assert days[1] == [(8, True), (9, True), (10, True), (11, False), (12, True), (13, True)]
    assert inside.start == datetime(2026, 6, 9, 23, 0, tzinfo=UTC)  # naive: the dispatcher's zone (BST)


def test_at_forms_seconds_and_next_fire():
    zone = ZoneInfo("UTC")
    hourly, reboot, secs = parse_schedule(["@hourly", "@reboot", "*/20 * * * * 30"], zone)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert [t.at.hour for t in ticks(hourly, start, start + timedelta(hours=3), zone)] == [1, 2, 3]
    assert list(ticks(reboot, start, start + timedelta(days=1), zone)) == []
    assert next_fire(secs, start, zone).at == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    leap = parse_schedule("0 0 29 2 *", zone)[0]
    assert next_fire(leap, start, zone).at == datetime(2028, 2, 29, tzinfo=UTC)


def test_every_problem_is_reported_with_its_path():
    with pytest.raises(SpecError) as info:
        parse_schedule(["* * * *", {"crontab": "0 1 * * *", "to:": "2026-01-01"}, {"from": "soon"}, 5,
                        {"crontab": "0 1 * * *", "catchup": "some"}], ZoneInfo("UTC"))
    assert info.value.problems == [
        "$.schedule[0].crontab: '* * * *': expected 5 fields (minute hour day month weekday) or 6 (plus seconds), got 4",
        "$.schedule[1].to:: unknown field",
        "$.schedule[2].crontab: required: a crontab string",
        "$.schedule[2].from: expected an ISO 8601 time like 2026-12-24T18:00, got 'soon'",
        "$.schedule[3]: expected a crontab string or a map with crontab/from/to, got 5",
        "$.schedule[4].catchup: expected one of none, latest, all, got 'some'",
    ]
    assert parse_schedule("", ZoneInfo("UTC")) == []
    with pytest.raises(SpecError, match="61 \\* \\* \\* \\*"):
        parse_schedule("61 * * * *", ZoneInfo("UTC"))
