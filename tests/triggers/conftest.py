"""Fixtures for lava-triggers: realms with the target jobs, recorded events, and what reached the queues."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lava_core.backend import Backend
from lava_core.testing import put_jobs
from lava_triggers import S3TriggerSettings, S3TriggerSource
from lava_triggers import runtime

from tests.triggers.recorder import load

JOBS = ("j1", "j2", "j3", "j-in", "helper/a", "helper/b")


def store_jobs(backend: Backend) -> None:
    put_jobs(backend, *({"job_id": j, "type": "cmd", "payload": "true"} for j in JOBS),
             {"job_id": "off", "type": "cmd", "payload": "true", "enabled": False},
             {"job_id": "batchjob", "type": "cmd", "payload": "true", "worker": "batch"})


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    """The realm under test, ``[local]`` and ``[aws]``, with the target jobs stored."""
    store_jobs(lava_backend)
    return lava_backend


@pytest.fixture
def local(lava_realm: Backend) -> Backend:
    store_jobs(lava_realm)
    return lava_realm


@pytest.fixture
def source() -> S3TriggerSource:
    """An s3trigger with caching off, so a test sees exactly the entries it stored."""
    return S3TriggerSource(S3TriggerSettings(cache_ttl=0))


@pytest.fixture
def cold_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold Lambda instance: no warm plugin host or backend kept from an earlier test."""
    monkeypatch.setattr(runtime, "_warm", {})
    monkeypatch.setenv("LAVA_S3TRIGGER_CACHE_TTL", "0")


def entry(trigger_id: str, prefix: str, job_id: Any = "j1", *, bucket: str = "in-bucket", **fields: Any) -> dict[str, Any]:
    return {"trigger_id": trigger_id, "bucket": bucket, "prefix": prefix, "job_id": job_id, "enabled": True, **fields}


def event(name: str) -> Any:
    return copy.deepcopy(load(name))


def s3_event(key: str, *, size: int = 2000, event_name: str = "ObjectCreated:Put", bucket: str = "in-bucket") -> dict[str, Any]:
    """The recorded direct S3 notification with another key/size/type (the key URL-encoded as S3 does)."""
    from urllib.parse import quote_plus

    data = event("s3_direct")
    record = data["Records"][0]
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"].update(key=quote_plus(key), size=size)
    return data


def sent(backend: Backend, fleet: str = "core") -> list[dict[str, Any]]:
    """Every dispatch message now visible on the fleet's queue (taken off it), by job id."""
    bodies = []
    while True:
        got = backend.receive_messages(fleet, max_messages=10, visibility=60)
        if not got:
            break
        for message in got:
            bodies.append(json.loads(message.body))
            backend.delete_message(fleet, message.receipt)
    return sorted(bodies, key=lambda b: (b["job_id"], json.dumps(b.get("parameters"), sort_keys=True)))


def strip(body: dict[str, Any]) -> dict[str, Any]:
    """A message body without its per-dispatch values (run_id, ts_dispatch)."""
    return {k: v for k, v in body.items() if k not in ("run_id", "ts_dispatch")}
