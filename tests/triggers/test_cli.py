"""``lava trigger put/ls/rm/replay/watch`` as a user runs them (subprocesses on a local realm)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import yaml

from lava_core.cli.triggers import Watcher
from lava_core.testing import lava_command, run_cli

from tests.triggers.conftest import entry, sent
from tests.triggers.recorder import EVENTS, KEY

ENTRIES = [entry("csv-in", "data", "j1", if_fnmatch="*.csv", if_size_gt="1K", globals={"key": "{{ key }}"}),
           entry("all", "*", "j2", description="everything else")]


@pytest.fixture
def stored(local, tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text(yaml.safe_dump(ENTRIES))
    run_cli("trigger", "put", str(path), realm=local.describe(), check=True)
    return local


def test_put_and_ls(stored):
    assert [t["trigger_id"] for t in stored.list_triggers()] == ["all", "csv-in"]
    listing = run_cli("trigger", "ls", realm=stored.describe(), check=True).stdout
    assert listing.splitlines()[0].split() == ["TRIGGER_ID", "BUCKET", "PREFIX", "JOB_ID", "ENABLED", "DESCRIPTION"]
    assert "everything else" in listing
    as_json = json.loads(run_cli("trigger", "ls", "--json", realm=stored.describe(), check=True).stdout)
    assert as_json[1]["if_size_gt"] == "1K"
    assert run_cli("trigger", "rm", "all", realm=stored.describe(), check=True).stdout == "removed all\n"
    assert run_cli("trigger", "rm", "all", realm=stored.describe()).returncode == 1


def test_put_stores_nothing_when_any_entry_is_invalid(local, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(entry("ok", "in", "j1")))
    bad.write_text(json.dumps([entry("x", "in/", "j1", if_colour="red"), entry("ok", "*", "j1", delay="1h")]))
    proc = run_cli("trigger", "put", str(good), str(bad), realm=local.describe())
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        f"{bad}[0]: s3trigger 'x': $.if_colour: unknown field",
        f"{bad}[0]: s3trigger 'x': $.prefix: 'in/' ends with '/': prefixes are matched by whole path components, "
        "so it would never match; write 'in'",
        f"{bad}[1]: s3trigger 'ok': $.delay: delay must be at most 15m, got '1h'",
    ]
    assert "3 problem(s); no s3trigger entry was written" in proc.stderr
    assert local.list_triggers() == []
    twice = run_cli("trigger", "put", str(good), str(good), realm=local.describe())
    assert twice.returncode == 2 and f"$.trigger_id: 'ok' is also defined in {good}" in twice.stdout


def test_replay_dry_run_explains_and_sends_nothing(stored):
    proc = run_cli("trigger", "replay", "--dry-run", str(EVENTS / "s3_via_sqs.json"), realm=stored.describe())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "  note: s3:TestEvent for bucket 'in-bucket' ignored"
    assert lines[3].startswith(f"  s3://in-bucket/{KEY}  size 2000  ObjectCreated:Put  2026-")
    assert lines[4:] == [
        f"  prefixes tried: '{KEY}', 'data/in coming', 'data': 1 entry at 'data'",
        "  trigger csv-in: conditions pass",
        f"    if_fnmatch '*.csv' vs '{KEY}': pass",
        "    if_size_gt '1K' vs 2000: pass",
        f'  would dispatch: j1 (fleet core) globals {{"key": "{KEY}"}}',
    ]
    assert sent(stored) == []
    assert stored.list_state_items() == []


def test_replay_json_report(stored):
    proc = run_cli("trigger", "replay", "--dry-run", "--json", str(EVENTS / "s3_eventbridge.json"),
                   realm=stored.describe())
    report = json.loads(proc.stdout)
    [item] = report["items"]
    assert (report["ok"], report["dry_run"], item["via"]) == (True, True, "eventbridge")
    [record] = item["detail"]
    assert record["info"]["source_ip"] == "1.2.3.4"
    assert record["entries"] == [{
        "trigger_id": "csv-in", "status": "matched",
        "conditions": [{"condition": "if_fnmatch", "expected": "*.csv", "actual": KEY, "passed": True},
                       {"condition": "if_size_gt", "expected": "1K", "actual": 2000, "passed": True}],
        "dispatches": [{"job_id": "j1", "parameters": {}, "globals": {"key": KEY}, "delay": "0s", "worker": "core",
                        "origin": "s3trigger 'csv-in'"}]}]


def test_replay_dispatches_without_dry_run(stored):
    proc = run_cli("trigger", "replay", str(EVENTS / "s3_via_sns.json"), realm=stored.describe())
    [body] = sent(stored)
    assert f"  sent: j1 run {body['run_id']} to fleet core" in proc.stdout.splitlines()
    assert proc.returncode == 0


def test_replay_of_dispatch_requests(stored):
    proc = run_cli("trigger", "replay", "--dry-run", "--source", "dispatch-helper", str(EVENTS / "helper_sns.json"),
                   realm=stored.describe())
    assert proc.returncode == 1  # a bad line is a failure, reported with its line number
    assert "  error: line 5: delay: delay must be at most 15m, got '20m'" in proc.stdout.splitlines()
    assert "  would dispatch: helper/b delay 3m" in proc.stdout.splitlines()


def test_replay_usage_errors(stored, tmp_path):
    (tmp_path / "x.json").write_text("{nope")
    assert run_cli("trigger", "replay", str(tmp_path / "x.json"), realm=stored.describe()).returncode == 2
    unknown = run_cli("trigger", "replay", "--source", "nope", str(EVENTS / "s3_direct.json"), realm=stored.describe())
    assert unknown.returncode == 2 and "no installed plugin provides trigger source 'nope'" in unknown.stderr


def test_watch_once_runs_the_same_matching(stored, tmp_path):
    drop = tmp_path / "in-bucket"
    (drop / "data" / "sub dir").mkdir(parents=True)
    (drop / "data" / "sub dir" / "big+file.csv").write_bytes(b"x" * 3000)
    (drop / "data" / "small.csv").write_bytes(b"x")
    (drop / "other.bin").write_bytes(b"x")
    (drop / ".partial").write_bytes(b"x")
    proc = run_cli("trigger", "watch", str(drop), "--once", "--json", realm=stored.describe())
    assert proc.returncode == 0, proc.stderr
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    infos = [r["items"][0]["detail"][0]["info"] for r in reports]
    assert [(i["bucket"], i["key"], i["size"], i["event_type"], i["source_ip"], i["aws_region"]) for i in infos] == [
        ("in-bucket", "data/small.csv", 1, "ObjectCreated:Put", "127.0.0.1", "local"),
        ("in-bucket", "data/sub dir/big+file.csv", 3000, "ObjectCreated:Put", "127.0.0.1", "local"),
        ("in-bucket", "other.bin", 1, "ObjectCreated:Put", "127.0.0.1", "local"),
    ]
    assert [(b["job_id"], b.get("globals")) for b in sent(stored)] == [
        ("j1", {"key": "data/sub dir/big+file.csv"}), ("j2", None)]


def test_watcher_waits_for_a_file_to_settle(tmp_path):
    (tmp_path / "old.txt").write_text("there before")
    watcher = Watcher(tmp_path, include_existing=False)
    assert watcher.poll() == []
    (tmp_path / "new.txt").write_text("a")
    assert watcher.poll() == []  # seen once: may still be being written
    [(key, size, _)] = watcher.poll()
    assert (key, size) == ("new.txt", 1)
    assert watcher.poll() == []
    (tmp_path / "new.txt").write_text("longer")
    watcher.poll()
    assert [k for k, _, _ in watcher.poll()] == ["new.txt"]  # changed: a new event
    (tmp_path / "new.txt").unlink()
    watcher.poll()
    (tmp_path / "new.txt").write_text("longer")
    watcher.poll()
    assert [k for k, _, _ in watcher.poll()] == ["new.txt"]  # put there again: a new event


@pytest.mark.slow
def test_watch_process_picks_up_new_files(stored, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "data").mkdir()
    command = [*lava_command(), "--realm", stored.describe(), "trigger", "watch", str(drop), "--bucket", "in-bucket",
               "--interval", "0.2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=os.environ.copy()) as proc:
        try:
            assert proc.stdout.readline().startswith(f"watching {drop} as s3://in-bucket/ every 0.2 ")
            (drop / "data" / "new.csv").write_bytes(b"x" * 2000)
            started = time.monotonic()
            while not (bodies := sent(stored)) and time.monotonic() - started < 20:
                time.sleep(0.05)
            assert [b["globals"] for b in bodies] == [{"key": "data/new.csv"}]
            assert time.monotonic() - started < 5
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)


def test_the_documented_example_replays_as_shown(lava_realm):
    docs = EVENTS.parents[2] / "docs"
    example = docs / "examples" / "triggers"
    run_cli("job", "put", str(example / "jobs.yaml"), realm=lava_realm.describe(), check=True)
    run_cli("trigger", "put", str(example / "s3triggers.yaml"), realm=lava_realm.describe(), check=True)
    proc = run_cli("trigger", "replay", "--dry-run", str(example / "event.json"), realm=lava_realm.describe(),
                   check=True)
    page = (docs / "triggers.md").read_text(encoding="utf-8")
    shown = page.split("$ lava trigger replay --dry-run event.json\n", 1)[1].split("```", 1)[0]
    assert proc.stdout == shown
