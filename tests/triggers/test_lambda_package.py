"""``lava lambda build``: the layer and function zips, unpacked into clean folders and run in isolation.

Each handler runs in a fresh ``python -I -S`` process whose ``sys.path`` is the
standard library plus the unpacked function and layer folders (what Lambda
gives a function: ``/var/task`` and ``/opt/python``), against the moto server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from lava_core.testing import run_cli

from tests.triggers.conftest import entry, event, sent, store_jobs

SCRIPT = """
import json, sys
function, layer, module, event_file = sys.argv[1:]
sys.path[:0] = [function, layer]
import importlib
handler = importlib.import_module(module).handler
answer = handler(json.load(open(event_file)), None)
import lava_core, lava_triggers, boto3
print(json.dumps({"answer": answer, "path": sys.path,
                  "files": [m.__file__ for m in (lava_core, lava_triggers, boto3)]}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("lambda")
    proc = run_cli("lambda", "build", "--plugins", "lava-cmd", "--out", str(out / "dist"), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    for part, folder in (("layer", out / "layer"), ("function", out / "function")):
        with zipfile.ZipFile(out / "dist" / manifest[part]["zip"]) as archive:
            archive.extractall(folder)
    return {"manifest": manifest, "layer": out / "layer" / "python", "function": out / "function", "dist": out / "dist"}


def invoke(package, module, event_file, **env):
    environment = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    environment.update(PATH="/usr/bin:/bin", LAVA_REALM="test", **env)
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", SCRIPT, str(package["function"]),
                           str(package["layer"]), module, str(event_file)],
                          capture_output=True, text=True, env=environment, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_zips_hold_what_the_manifest_says(package):
    manifest = package["manifest"]
    names = {d.split("==")[0].lower() for d in manifest["layer"]["distributions"]}
    assert {"lava-core", "lava-cmd", "pluggy", "attrs", "cattrs", "jinja2", "croniter", "pyyaml", "boto3"} <= names
    assert "lava-triggers" not in names and "lava-dag" not in names
    assert [d.split("==")[0] for d in manifest["function"]["distributions"]] == ["lava-triggers"]
    assert manifest["handlers"] == {"s3trigger": "lava_triggers.s3trigger.handler",
                                    "dispatch-helper": "lava_triggers.dispatch_helper.handler"}
    with zipfile.ZipFile(package["dist"] / "lava-layer.zip") as layer:
        assert all(n.startswith("python/") for n in layer.namelist())
        assert not any("__pycache__" in n or n.startswith("python/bin/") for n in layer.namelist())
    assert (package["function"] / "lava_triggers" / "s3trigger.py").is_file()


@pytest.mark.slow
def test_handlers_run_from_the_unpacked_zips_alone(package, lava_aws_realm):
    store_jobs(lava_aws_realm)
    lava_aws_realm.put_triggers([entry("T", "data", "j1", globals={"key": "{{ key }}"})])
    events = package["dist"].parent
    for name in ("s3_via_sqs", "s3_via_sns", "helper_sqs_batch"):
        (events / f"{name}.json").write_text(json.dumps(event(name)))

    first = invoke(package, "lava_triggers.s3trigger", events / "s3_via_sqs.json", LAVA_S3TRIGGER_DEDUP_TTL="30s")
    assert first["answer"] == {"batchItemFailures": []}
    roots = (str(package["function"]), str(package["layer"]))
    assert all(f.startswith(roots) for f in first["files"]), first["files"]
    assert not [p for p in first["path"] if "site-packages" in p], first["path"]
    [body] = sent(lava_aws_realm)
    assert (body["job_id"], body["globals"]) == ("j1", {"key": "data/in coming/file 1+2.csv"})

    # a second instance (another process) gets the same object event through SNS: suppressed
    second = invoke(package, "lava_triggers.s3trigger", events / "s3_via_sns.json", LAVA_S3TRIGGER_DEDUP_TTL="30s")
    assert second["answer"]["dispatched"] == []
    assert second["answer"]["notes"][0].startswith("duplicate event discarded: s3://in-bucket/data/in coming/")
    assert sent(lava_aws_realm) == []

    batch = event("helper_sqs_batch")
    helper = invoke(package, "lava_triggers.dispatch_helper", events / "helper_sqs_batch.json")
    assert helper["answer"] == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in batch["Records"][1:]]}
    assert [b["job_id"] for b in sent(lava_aws_realm)] == ["helper/a", "helper/b"]
