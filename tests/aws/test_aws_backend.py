"""What only the AWS backend has: lava's item layouts, SQS redrive, ``lava realm init --aws``."""

from __future__ import annotations

import json

import boto3
import pytest

from lava_core.backend import open_realm
from lava_core.backend.aws import AwsBackend
from lava_core.backend.aws_setup import init_aws_realm
from lava_core.dispatch import DispatchRequest, send
from lava_core.errors import BackendError, RealmNotFound
from lava_core.testing import drain, put_jobs, run_cli


def test_items_written_by_lava_are_read(lava_aws_realm):
    """A worker pointed at an existing lava realm reads its job and event items as they are."""
    table = boto3.resource("dynamodb")
    table.Table("lava.test.jobs").put_item(Item={
        "job_id": "legacy", "type": "cmd", "worker": "core", "enabled": True, "payload": "echo {{ globals.n }}",
        "parameters": {"timeout": "1m"}, "globals": {"n": 7}, "x-checksum": "abc", "description": "",
        "owner": "ops"})
    table.Table("lava.test.events").put_item(Item={
        "job_id": "legacy", "run_id": "old-run", "status": "complete", "ts_dispatch": "2025-03-01T10:00:00+11:00",
        "ts_event": "2025-03-01T10:00:05+11:00", "tu_event": "2025-02-28T23:00:05", "worker": "core",
        "worker_id": None, "instance_id": "i-0abc", "hostname": "ip-10-0-0-1", "ttl": 1740870005,
        "log": [{"status": "starting", "info": None, "ts_event": "2025-03-01T10:00:00+11:00"},
                {"status": "complete", "info": {"exit_status": 0}, "ts_event": "2025-03-01T10:00:05+11:00",
                 "tu_event": "2025-02-28T23:00:05"}]})
    old = lava_aws_realm.get_event("legacy", "old-run")
    assert (old.status, old.ttl, old.hostname, old.worker_id) == ("complete", 1740870005, "ip-10-0-0-1", None)
    assert [e.status for e in old.log] == ["starting", "complete"]
    run_id = send(lava_aws_realm, DispatchRequest(job_id="legacy")).run_id
    drain(lava_aws_realm)
    assert lava_aws_realm.get_output("legacy", run_id, "stdout") == b"7\n"


def test_items_written_here_have_lavas_layout(lava_aws_realm):
    put_jobs(lava_aws_realm, {"job_id": "j", "type": "cmd", "payload": "true", "parameters": {"timeout": 2.5}})
    run_id = send(lava_aws_realm, DispatchRequest(job_id="j")).run_id
    drain(lava_aws_realm)
    client = boto3.client("dynamodb")
    job = client.get_item(TableName="lava.test.jobs", Key={"job_id": {"S": "j"}})["Item"]
    assert job["parameters"] == {"M": {"timeout": {"N": "2.5"}}}  # native map, not a JSON string
    item = client.get_item(TableName="lava.test.events", Key={"job_id": {"S": "j"}, "run_id": {"S": run_id}})["Item"]
    assert item["status"] == {"S": "complete"}
    assert "N" in item["ttl"]
    assert item["worker_id"] == {"NULL": True}
    assert [e["M"]["status"]["S"] for e in item["log"]["L"]] == ["starting", "running", "complete"]
    assert set(item["log"]["L"][0]["M"]) == {"status", "info", "ts_event", "tu_event"}
    message_body = {"realm", "worker", "job_id", "run_id", "ts_dispatch"}
    send(lava_aws_realm, DispatchRequest(job_id="j"))
    raw = boto3.client("sqs").receive_message(QueueUrl=lava_aws_realm.queues.fleet_url("core"))["Messages"][0]
    assert set(json.loads(raw["Body"])) == message_body  # empty parameters/globals left out, as lava does


def test_redrive_policy_catches_runs_that_kill_their_workers(lava_moto_server):
    """The worker's limit records why; the queue's own redrive is the backstop when no worker survives."""
    lava_moto_server.reset()
    init_aws_realm("crashy", bucket="lava-crashy", fleets=["core"], max_receives=2)
    realm = AwsBackend("crashy")
    realm.send_message("core", {"job_id": "oom"})
    for _ in range(2):  # two workers took it and died
        assert realm.receive_messages("core", visibility=0)
    assert realm.receive_messages("core", wait=0.5) == []  # moved by SQS on the next receive
    letters = realm.list_dead_letters("core")
    assert [json.loads(d.body) for d in letters] == [{"job_id": "oom"}]
    assert "redrive" in letters[0].reason


def test_missing_fleet_queue_and_missing_realm_are_clear(lava_aws_realm, tmp_path):
    with pytest.raises(BackendError, match="--fleet nightly"):
        lava_aws_realm.send_message("nightly", {})
    with pytest.raises(RealmNotFound, match="lava realm init --aws nope"):
        open_realm("aws://nope")
    proc = run_cli("events", realm="aws://nope")
    assert proc.returncode == 2
    assert "lava realm init --aws nope --bucket" in proc.stderr
    worker = run_cli("worker", "run", "--worker", "nightly", "--drain", "--tmpdir", str(tmp_path), realm="aws://test")
    assert worker.returncode == 2
    assert "no SQS queue lava-test-nightly" in worker.stderr


def test_realm_init_creates_then_reports_existing(lava_moto_server):
    lava_moto_server.reset()
    args = ["realm", "init", "--aws", "fresh", "--bucket", "lava-fresh", "--fleet", "core", "--fleet", "gpu"]
    first = run_cli(*args, "--json", check=True)
    created = {(r["kind"], r["name"]): r["status"] for r in json.loads(first.stdout)}
    expected = {("dynamodb table", name) for name in (
        "lava.realms", "lava.fresh.jobs", "lava.fresh.events", "lava.fresh.state", "lava.fresh.s3triggers",
        "lava.fresh.connections")} | {("sqs queue", f"lava-fresh-{fleet}{dlq}") for fleet in ("core", "gpu")
                                      for dlq in ("", "-dlq")} | {("s3 bucket", "lava-fresh"), ("realm record", "fresh")}
    assert set(created) == expected
    assert set(created.values()) == {"created"}
    again = run_cli(*args, check=True)
    assert "created" not in again.stdout
    assert again.stdout.count("exists") == len(expected)
    assert "use it with --realm aws://fresh" in again.stdout
    realm = AwsBackend("fresh")
    assert realm.get_realm().s3_payloads == "s3://lava-fresh/lava/fresh/payloads"
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName="lava.fresh.events")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    redrive = boto3.client("sqs").get_queue_attributes(
        QueueUrl=realm.queues.fleet_url("gpu"), AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert json.loads(redrive)["deadLetterTargetArn"].endswith(":lava-fresh-gpu-dlq")


def test_realm_init_usage_errors(lava_moto_server):
    assert run_cli("realm", "init", "--aws", "x").returncode == 2
    bad = run_cli("realm", "init", "--aws", "a.b", "--bucket", "lava-x")
    assert bad.returncode == 2
    assert "bad realm name" in bad.stderr


def test_cli_session_on_an_aws_realm(lava_aws_realm, tmp_path):
    """The session of docs/aws.md: every command takes aws://NAME as a realm."""
    realm = "aws://test"
    assert run_cli("job", "put", "docs/examples/demo/jobs.yaml", realm=realm).returncode == 0
    assert [s["worker"] for s in lava_aws_realm.list_jobs()] == ["demo"] * 4
    init = run_cli("realm", "init", "--aws", "test", "--bucket", "lava-test", "--fleet", "demo", check=True)
    assert "lava-test-demo " in init.stdout
    run_id = run_cli("dispatch", "demo/hello", "-g", "who=aws", realm=realm, check=True).stdout.strip()
    assert run_cli("worker", "run", "--worker", "demo", "--drain", "--tmpdir", str(tmp_path), realm=realm,
                   check=True).returncode == 0
    events = json.loads(run_cli("events", "--run", run_id, "--json", realm=realm, check=True).stdout)
    assert [(e["job_id"], e["status"]) for e in events] == [("demo/hello", "complete")]
    output = run_cli("output", "get", run_id, "--name", "stdout", realm=realm, check=True).stdout
    assert "aws" in output
    shown = json.loads(run_cli("realm", "show", realm=realm, check=True).stdout)
    assert (shown["where"], shown["s3_temp"]) == ("aws://test", "s3://lava-test/lava/test/temp")
    quiet = run_cli("events", realm=realm)
    assert "botocore" not in quiet.stderr  # boto's INFO chatter is muted unless --log-level debug


def test_realm_init_leaves_existing_queues_alone_and_says_what_they_lack(lava_moto_server):
    """A realm made by lava's own template: queues without a redrive policy, a dead-letter queue set up otherwise."""
    lava_moto_server.reset()
    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName="lava-old-core")
    sqs.create_queue(QueueName="lava-old-core-dlq", Attributes={"MessageRetentionPeriod": "60"})
    done = {r.name: r for r in init_aws_realm("old", bucket="lava-old", fleets=["core"])}
    assert done["lava-old-core-dlq"].status == "exists"
    assert done["lava-old-core"].status == "exists"
    assert "no redrive policy" in done["lava-old-core"].detail
    attributes = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="lava-old-core-dlq")["QueueUrl"],
                                          AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "60"  # left as it was


def test_names_that_cannot_make_queues_are_refused(lava_moto_server):
    with pytest.raises(BackendError, match="bad fleet name"):
        init_aws_realm("ok", bucket="lava-ok", fleets=["has space"])
    with pytest.raises(BackendError, match="bad realm name"):
        init_aws_realm("x" * 41, bucket="lava-ok")
    with pytest.raises(BackendError, match="bad realm name"):
        AwsBackend("a.b")


def test_dead_letters_of_a_realm_whose_name_extends_ours_are_not_ours(lava_moto_server):
    lava_moto_server.reset()
    init_aws_realm("prod", bucket="lava-prod", fleets=["core"])
    init_aws_realm("prod-eu", bucket="lava-prod-eu", fleets=["core"])
    prod, prod_eu = AwsBackend("prod"), AwsBackend("prod-eu")
    prod_eu.send_message("core", {"job_id": "x"})
    prod_eu.dead_letter("core", prod_eu.receive_messages("core")[0], "not prod's")
    assert prod.list_dead_letters() == []
    assert [d.reason for d in prod_eu.list_dead_letters()] == ["not prod's"]
