"""The connections table on both backends: the Backend calls, the loader's checks and ``lava conn``."""

from __future__ import annotations

import json
import sqlite3

import pytest

from lava_core.backend.local import LocalBackend
from lava_core.connections import ConnError, docker_fields, load_connection
from lava_core.testing import run_cli

DOCKER = {"conn_id": "reg/main", "type": "docker", "enabled": True, "description": "team registry",
          "owner": "ops", "registry": "registry.example:5000", "user": "robot", "password_env": "REG_PW",
          "server": "tcp://10.0.0.5:2376", "tls": True, "timeout": "30s", "x-ticket": "OPS-1"}


def test_put_get_list_replace_delete(realm):
    other = {"conn_id": "db1", "type": "postgres", "enabled": False, "port": 5432, "ratio": 0.5,
             "options": {"sslmode": "require", "hosts": ["a", "b"]}}
    realm.put_connections([DOCKER, other])
    assert realm.get_connection("reg/main") == DOCKER
    assert realm.get_connection("db1") == other  # nested maps, lists, ints and floats come back as stored
    assert realm.get_connection("nope") is None
    assert [c["conn_id"] for c in realm.list_connections()] == ["db1", "reg/main"]
    realm.put_connections([{**other, "enabled": True}])  # same id: replaced
    assert realm.get_connection("db1")["enabled"] is True
    assert len(realm.list_connections()) == 2
    assert realm.delete_connection("db1") is True
    assert realm.delete_connection("db1") is False
    assert [c["conn_id"] for c in realm.list_connections()] == ["reg/main"]


def test_loader_checks_enabled_type_and_fields(realm, monkeypatch):
    realm.put_connections([DOCKER, {**DOCKER, "conn_id": "off", "enabled": False},
                           {"conn_id": "pg", "type": "postgres", "enabled": True},
                           {**DOCKER, "conn_id": "bad", "tls": "yes", "password": "hunter2"}])
    conn = load_connection(realm, "reg/main", conn_type="docker")
    assert (conn.owner, conn.description, conn.extras["x-ticket"]) == ("ops", "team registry", "OPS-1")
    fields = docker_fields(conn)
    assert (fields.registry, fields.user, fields.server, fields.tls, float(fields.timeout)) == \
        ("registry.example:5000", "robot", "tcp://10.0.0.5:2376", True, 30.0)
    monkeypatch.delenv("REG_PW", raising=False)
    with pytest.raises(ConnError, match="Connection reg/main: the worker has no environment variable REG_PW"):
        fields.password("reg/main")
    monkeypatch.setenv("REG_PW", "s3cret")
    assert fields.password("reg/main") == "s3cret"
    with pytest.raises(ConnError, match=r"^Connection off: Not enabled$"):
        load_connection(realm, "off")
    with pytest.raises(ConnError, match=r"^Connection pg: is of type 'postgres', expected 'docker'$"):
        load_connection(realm, "pg", conn_type="docker")
    with pytest.raises(ConnError, match=r"^Connection missing: not in the realm's connections table"):
        load_connection(realm, "missing")
    with pytest.raises(ConnError) as caught:
        load_connection(realm, "bad")  # stored behind the CLI's back: still refused, with paths
    assert "$.tls: expected true or false, got string 'yes'" in str(caught.value)
    assert "$.password: a password is never stored" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_cli_put_ls_get_rm(realm, tmp_path):
    spec = realm.describe()
    good = tmp_path / "conns.yaml"
    good.write_text("- conn_id: reg/main\n  type: docker\n  enabled: true\n  registry: localhost:5055\n"
                    "  user: robot\n  password_env: REG_PW\n"
                    "- conn_id: later\n  type: docker\n  description: not yet\n")
    put = run_cli("conn", "put", str(good), realm=spec)
    assert put.returncode == 0, put.stderr
    assert put.stdout.splitlines() == ["put reg/main (docker)", "put later (docker, not enabled)"]
    listing = run_cli("conn", "ls", realm=spec).stdout.splitlines()
    assert listing[0].split() == ["CONN_ID", "TYPE", "ENABLED", "OWNER", "DESCRIPTION"]
    assert listing[1].split() == ["later", "docker", "False", "not", "yet"]
    as_json = json.loads(run_cli("conn", "ls", "--json", realm=spec).stdout)
    assert [c["conn_id"] for c in as_json] == ["later", "reg/main"]
    got = json.loads(run_cli("conn", "get", "reg/main", realm=spec).stdout)
    assert got == {"conn_id": "reg/main", "type": "docker", "enabled": True, "registry": "localhost:5055",
                   "user": "robot", "password_env": "REG_PW"}
    assert run_cli("conn", "rm", "later", realm=spec).returncode == 0
    assert run_cli("conn", "rm", "later", realm=spec).returncode == 1
    assert run_cli("conn", "get", "later", realm=spec).returncode == 1
    assert [c["conn_id"] for c in realm.list_connections()] == ["reg/main"]


def test_cli_put_refuses_a_clear_password_and_stores_nothing(realm, tmp_path):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"conn_id": "fine", "type": "docker", "enabled": True}))
    bad = tmp_path / "bad.yaml"
    bad.write_text("conn_id: reg/main\ntype: docker\nenabled: true\nregistry: localhost:5055\nuser: robot\n"
                   "password: hunter2\ntimeout: soon\n")
    put = run_cli("conn", "put", str(ok), str(bad), realm=realm.describe())
    assert put.returncode == 2
    lines = put.stdout.splitlines()
    assert any(line.startswith(f"{bad}: $.password: a password is never stored in the connections table")
               and "password_env" in line for line in lines), lines
    assert any(line.startswith(f"{bad}: $.timeout: ") for line in lines), lines
    assert "hunter2" not in put.stdout + put.stderr
    assert "no connection was written" in put.stderr
    assert realm.list_connections() == []  # the valid file was not stored either


def test_cli_put_names_every_bad_field_and_duplicate(realm, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {conn_id: a, type: docker, enabled: 'yes', registry: ecr}\n"
                   "- {type: docker}\n- {conn_id: a, type: generic, anything: [1, 2]}\n- just text\n")
    put = run_cli("conn", "put", str(bad), realm=realm.describe())
    assert put.returncode == 2
    assert put.stdout.splitlines() == [
        f"{bad}[0]: $.enabled: expected true or false, got string 'yes'",
        f"{bad}[0]: $.registry: 'ecr': ECR login is not supported; give the registry's address, a user and "
        "password_env",
        f"{bad}[0]: $.user: required to log in to registry 'ecr'",
        f"{bad}[0]: $.password_env: required to log in to registry 'ecr'",
        f"{bad}[1]: $.conn_id: required field missing",
        f"{bad}[2]: $.conn_id: 'a' is also defined in {bad}[0]",
        f"{bad}[3]: $: expected a map (a connection), got str",
    ]
    assert realm.list_connections() == []


def test_opening_an_older_local_realm_adds_the_connections_table(tmp_path):
    root = tmp_path / "old"
    LocalBackend.init(root).close()
    with sqlite3.connect(root / "realm.db") as db:
        db.execute("DROP TABLE connections")  # as made before the table existed
    backend = LocalBackend(root)
    backend.put_connections([DOCKER])
    assert backend.list_connections() == [DOCKER]
    backend.close()
