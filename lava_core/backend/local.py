"""The embedded local realm: one folder holding a SQLite database (WAL) and the stores.

Several worker processes on one machine share it safely: every queue operation
is a short ``BEGIN IMMEDIATE`` transaction, so two receivers never take the same
message, and visibility/receive counts behave as on SQS.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from lava_core.backend.base import MAX_DELAY, Backend, DeadLetter, ReceivedMessage
from lava_core.backend.sqlite_writer import writer_for
from lava_core.convert import structure, unstructure
from lava_core.errors import BackendError
from lava_core.records import Event, EventEntry, Job, Realm, iso, load_job, now_local

DB_NAME = "realm.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS realms (realm TEXT PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, type TEXT, worker TEXT, dispatcher TEXT, item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_dispatcher ON jobs (dispatcher, job_id);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL, tu_event TEXT NOT NULL,
    item TEXT NOT NULL, PRIMARY KEY (job_id, run_id));
CREATE INDEX IF NOT EXISTS events_time ON events (tu_event);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id);
CREATE TABLE IF NOT EXISTS state (state_id TEXT PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS s3triggers (
    trigger_id TEXT PRIMARY KEY, bucket TEXT, prefix TEXT, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connections (conn_id TEXT PRIMARY KEY, type TEXT, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL,
    visible_at REAL NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT, sent_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    message_id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL, reason TEXT NOT NULL,
    receive_count INTEGER NOT NULL, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bus_events (
    event_id TEXT PRIMARY KEY, event_bus TEXT, source TEXT, detail_type TEXT, item TEXT NOT NULL,
    ts TEXT NOT NULL);
"""

# Long polls re-check the table at this interval, growing to the cap while idle.
_POLL_START = 0.005
_POLL_CAP = 0.05  # idle: one cheap indexed read per thread every 50 ms (about 1% of a core for 4 threads)

_FIELD_NAME = re.compile(r"^[a-z_]+$")


class LocalBackend(Backend):
    """A realm in a folder: ``realm.db``, ``payloads/`` and ``outputs/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        self.payload_dir = self.root / "payloads"
        self.output_dir = self.root / "outputs"
        self._local = threading.local()
        self._writer = writer_for(self.db_path, _connect)
        self._job_cache: dict[str, tuple[str, Job]] = {}
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'realm'").fetchone()
        if row is None:
            msg = f"{self.db_path} is not a lava realm database"
            raise BackendError(msg)
        self.realm_name = row[0]
        self._add_missing_tables()

    # ------------------------------------------------------------------ set-up
    def _add_missing_tables(self) -> None:
        """Tables added after a realm was made (connections): created when it is opened."""
        found = {r[0] for r in self._conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "connections" not in found:
            self._writer.submit(lambda conn: conn.execute(
                "CREATE TABLE IF NOT EXISTS connections (conn_id TEXT PRIMARY KEY, type TEXT, item TEXT NOT NULL)"))

    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / DB_NAME).is_file()

    @classmethod
    def init(cls, root: Path, name: str = "local") -> LocalBackend:
        """Create the folder, database and realm record (idempotent)."""
        root = Path(root).resolve()
        for sub in ("", "payloads", "outputs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        conn = _connect(root / DB_NAME)
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('realm', ?)", (name,))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            existing = conn.execute("SELECT value FROM meta WHERE key = 'realm'").fetchone()[0]
            record = Realm(realm=existing, s3_payloads=(root / "payloads").as_uri(),
                          s3_temp=(root / "outputs").as_uri())
            conn.execute("INSERT OR IGNORE INTO realms VALUES (?, ?)",
                         (existing, json.dumps(unstructure(record))))
        conn.close()
        return cls(root)

    def describe(self) -> str:
        return str(self.root)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.db_path)
            self._local.conn = conn
        return conn

    def _write(self, sql: str, params: tuple[Any, ...] = (), *, wait: bool = True) -> int:
        """Run one write statement through the process's group-commit writer; returns the row count."""
        return self._writer.submit(lambda conn: conn.execute(sql, params).rowcount, wait=wait, single=True)

    def flush(self) -> None:
        self._writer.flush()

    # ------------------------------------------------------------------ realm
    def get_realm(self) -> Realm:
        row = self._conn().execute("SELECT item FROM realms WHERE realm = ?", (self.realm_name,)).fetchone()
        return structure(json.loads(row[0]), Realm, source="realm record")

    def put_realm(self, realm: Realm) -> None:
        self._write("INSERT OR REPLACE INTO realms VALUES (?, ?)", (realm.realm, json.dumps(unstructure(realm))))

    # ------------------------------------------------------------------ jobs
    def put_jobs(self, specs: list[dict[str, Any]]) -> None:
        rows = [(s["job_id"], s.get("type"), s.get("worker"), s.get("dispatcher"), json.dumps(s)) for s in specs]
        self._writer.submit(lambda conn: conn.executemany("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?)", rows))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT item FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def load_job(self, job_id: str) -> Job | None:
        # Parsing and validating a spec costs more than a trivial run: keep the record
        # while the stored text is unchanged (records are frozen; merges make new dicts).
        row = self._conn().execute("SELECT item FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        cached = self._job_cache.get(job_id)
        if cached is not None and cached[0] == row[0]:
            return cached[1]
        job = load_job(json.loads(row[0]), source=f"job {job_id}")
        self._job_cache[job_id] = (row[0], job)
        return job

    def list_jobs(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn().execute("SELECT item FROM jobs ORDER BY job_id")]

    def jobs_of_dispatcher(self, dispatcher: str) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT item FROM jobs WHERE dispatcher = ? ORDER BY job_id", (dispatcher,))
        return [json.loads(r[0]) for r in rows]

    def delete_job(self, job_id: str) -> bool:
        return self._write("DELETE FROM jobs WHERE job_id = ?", (job_id,)) > 0

    # ------------------------------------------------------------------ events
    def record_event(self, job_id: str, run_id: str, entries: list[EventEntry], fields: dict[str, Any]) -> None:
        # One statement, no read: a new item is inserted whole; an existing one gets its
        # fields set and the entries appended inside SQLite (lava's list_append update).
        entry_json = [json.dumps({"status": e.status, "info": e.info, "ts_event": e.ts_event,
                                  "tu_event": e.tu_event}, default=str) for e in entries]
        names = [name for name in fields if _FIELD_NAME.match(name)]
        setters = "".join(f", '$.{name}', json(?)" for name in names)
        appends = ", '$.log[#]', json(?)" * len(entries)
        item = json.dumps({"job_id": job_id, "run_id": run_id, **fields, "log": []}, default=str)
        # Only field names matching ^[a-z_]+$ are interpolated; every value is a bound parameter.
        insert = f"json_insert(?{appends})"
        update = f"item = json_insert(json_set(item{setters}){appends})"
        sql = ("INSERT INTO events (job_id, run_id, status, tu_event, item) VALUES (?, ?, ?, ?, " + insert + ") "  # noqa: S608
               "ON CONFLICT (job_id, run_id) DO UPDATE SET status = coalesce(?, status), "
               "tu_event = excluded.tu_event, " + update)
        last = entries[-1]
        params = (job_id, run_id, fields.get("status", last.status), last.tu_event, item, *entry_json,
                  fields.get("status"), *(json.dumps(fields[name], default=str) for name in names), *entry_json)
        # Not waited for: the worker's later (waited) delete of the message commits it too.
        self._write(sql, params, wait=False)

    def get_event(self, job_id: str, run_id: str) -> Event | None:
        row = self._conn().execute("SELECT item FROM events WHERE job_id = ? AND run_id = ?",
                                   (job_id, run_id)).fetchone()
        return structure(json.loads(row[0]), Event) if row else None

    def query_events(self, *, job_id: str | None = None, run_id: str | None = None,
                     status: str | None = None, limit: int = 100) -> list[Event]:
        clauses, params = [], []
        for column, value in (("job_id", job_id), ("run_id", run_id), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn().execute(
            f"SELECT item FROM events {where} ORDER BY tu_event DESC LIMIT ?", (*params, limit))  # noqa: S608 - columns are fixed names
        return [structure(json.loads(r[0]), Event) for r in rows]

    # ------------------------------------------------------------------ state
    def put_state_item(self, item: dict[str, Any]) -> None:
        self._write("INSERT OR REPLACE INTO state VALUES (?, ?)", (item["state_id"], json.dumps(item)))

    def get_state_item(self, state_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT item FROM state WHERE state_id = ?", (state_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_state_items(self, prefix: str = "") -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT state_id, item FROM state ORDER BY state_id").fetchall()
        return [json.loads(item) for state_id, item in rows if state_id.startswith(prefix)]

    def delete_state_item(self, state_id: str) -> bool:
        return self._write("DELETE FROM state WHERE state_id = ?", (state_id,)) > 0

    def claim_state_item(self, item: dict[str, Any], *, now: float) -> bool:
        # The WHERE of an upsert's DO UPDATE makes the check and the write one atomic statement.
        return self._write(
            "INSERT INTO state VALUES (?, ?) ON CONFLICT (state_id) DO UPDATE SET item = excluded.item "
            "WHERE coalesce(json_extract(state.item, '$.ttl'), 1e18) <= ? "
            "OR json_extract(state.item, '$.publisher') = ?",
            (item["state_id"], json.dumps(item), now, item.get("publisher"))) > 0

    # ------------------------------------------------------------------ s3triggers
    def put_triggers(self, items: list[dict[str, Any]]) -> None:
        rows = [(i["trigger_id"], i.get("bucket"), i.get("prefix"), json.dumps(i)) for i in items]
        self._writer.submit(lambda conn: conn.executemany("INSERT OR REPLACE INTO s3triggers VALUES (?, ?, ?, ?)", rows))

    def get_trigger(self, trigger_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT item FROM s3triggers WHERE trigger_id = ?", (trigger_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_triggers(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn().execute("SELECT item FROM s3triggers ORDER BY trigger_id")]

    def query_triggers(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT item FROM s3triggers WHERE bucket = ? AND prefix = ? ORDER BY trigger_id",
                                    (bucket, prefix))
        return [json.loads(r[0]) for r in rows]

    def delete_trigger(self, trigger_id: str) -> bool:
        return self._write("DELETE FROM s3triggers WHERE trigger_id = ?", (trigger_id,)) > 0

    # ------------------------------------------------------------------ connections
    def put_connections(self, items: list[dict[str, Any]]) -> None:
        rows = [(i["conn_id"], i.get("type"), json.dumps(i)) for i in items]
        self._writer.submit(lambda conn: conn.executemany("INSERT OR REPLACE INTO connections VALUES (?, ?, ?)", rows))

    def get_connection(self, conn_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT item FROM connections WHERE conn_id = ?", (conn_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_connections(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn().execute("SELECT item FROM connections ORDER BY conn_id")]

    def delete_connection(self, conn_id: str) -> bool:
        return self._write("DELETE FROM connections WHERE conn_id = ?", (conn_id,)) > 0

    # ------------------------------------------------------------------ queues
    def send_message(self, fleet: str, body: dict[str, Any], delay: float = 0) -> str:
        if delay > MAX_DELAY:
            # The same limit as SQS, so a dispatch that works here works on AWS.
            msg = f"delay of {delay:g}s is longer than a queue allows ({MAX_DELAY}s = 15m)"
            raise BackendError(msg)
        message_id = str(uuid.uuid4())
        now = time.time()
        self._write("INSERT INTO messages VALUES (?, ?, ?, ?, 0, NULL, ?)",
                    (message_id, self.queue_name(fleet), json.dumps(body), now + delay, now))
        return message_id

    def send_raw(self, fleet: str, body: str) -> str:
        """Put an arbitrary body on a queue (tests of malformed messages use this)."""
        message_id = str(uuid.uuid4())
        now = time.time()
        self._write("INSERT INTO messages VALUES (?, ?, ?, ?, 0, NULL, ?)",
                    (message_id, self.queue_name(fleet), body, now, now))
        return message_id

    def receive_messages(self, fleet: str, *, max_messages: int = 1, wait: float = 0,
                         visibility: float = 60, delete_first: str | None = None) -> list[ReceivedMessage]:
        deadline = time.monotonic() + wait
        pause = _POLL_START
        while True:
            got = self._receive_once(self.queue_name(fleet), max_messages, visibility, delete_first)
            delete_first = None
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _POLL_CAP)

    def _receive_once(self, queue: str, max_messages: int, visibility: float,
                      delete_first: str | None) -> list[ReceivedMessage]:
        conn = self._conn()
        now = time.time()
        # A cheap read first, so idle polls do not queue for the writer; a thread with a
        # message to delete needs the writer anyway, and is likely busy: no read then.
        if delete_first is None and conn.execute(
                "SELECT 1 FROM messages WHERE queue = ? AND visible_at <= ? LIMIT 1", (queue, now)).fetchone() is None:
            return []

        def take(conn: sqlite3.Connection) -> list[ReceivedMessage]:
            if delete_first is not None:
                conn.execute("DELETE FROM messages WHERE queue = ? AND receipt = ?", (queue, delete_first))
            taken_at = time.time()
            rows = conn.execute(
                "SELECT message_id, body, receive_count, sent_at FROM messages "
                "WHERE queue = ? AND visible_at <= ? ORDER BY visible_at LIMIT ?",
                (queue, taken_at, max_messages)).fetchall()
            out = []
            for message_id, body, count, sent_at in rows:
                receipt = uuid.uuid4().hex
                conn.execute("UPDATE messages SET visible_at = ?, receive_count = ?, receipt = ? "
                             "WHERE message_id = ?", (taken_at + visibility, count + 1, receipt, message_id))
                out.append(ReceivedMessage(message_id, body, receipt, count + 1, sent_at))
            return out

        return self._writer.submit(take)

    def delete_message(self, fleet: str, receipt: str) -> None:
        self._write("DELETE FROM messages WHERE queue = ? AND receipt = ?", (self.queue_name(fleet), receipt))

    def extend_visibility(self, fleet: str, receipt: str, seconds: float) -> bool:
        return self._write("UPDATE messages SET visible_at = ? WHERE queue = ? AND receipt = ?",
                           (time.time() + seconds, self.queue_name(fleet), receipt)) > 0

    def dead_letter(self, fleet: str, message: ReceivedMessage, reason: str) -> None:
        queue = self.queue_name(fleet)
        ts = iso(now_local())

        def move(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)",
                         (message.message_id, queue, message.body, reason, message.receive_count, ts))
            conn.execute("DELETE FROM messages WHERE queue = ? AND receipt = ?", (queue, message.receipt))

        self._writer.submit(move)

    def list_dead_letters(self, fleet: str | None = None) -> list[DeadLetter]:
        sql = "SELECT message_id, queue, body, reason, receive_count, ts FROM dead_letters"
        params: tuple[Any, ...] = ()
        if fleet is not None:
            sql += " WHERE queue = ?"
            params = (self.queue_name(fleet),)
        return [DeadLetter(*row) for row in self._conn().execute(sql + " ORDER BY ts", params)]

    def queue_depth(self, fleet: str) -> tuple[int, int]:
        now = time.time()
        visible, hidden = self._conn().execute(
            "SELECT COALESCE(SUM(visible_at <= ?), 0), COALESCE(SUM(visible_at > ?), 0) "
            "FROM messages WHERE queue = ?", (now, now, self.queue_name(fleet))).fetchone()
        return int(visible), int(hidden)

    # ------------------------------------------------------------------ outputs
    def _output_path(self, job_id: str, run_id: str, name: str = "") -> Path:
        path = (self.output_dir / job_id / run_id / name).resolve()
        if not path.is_relative_to(self.output_dir):
            msg = f"output name {name!r} escapes the output store"
            raise BackendError(msg)
        return path

    def put_output(self, job_id: str, run_id: str, name: str, data: bytes) -> str:
        path = self._output_path(job_id, run_id, name)
        _write_atomically(path, data)
        return path.as_uri()

    def get_output(self, job_id: str, run_id: str, name: str) -> bytes | None:
        path = self._output_path(job_id, run_id, name)
        return path.read_bytes() if path.is_file() else None

    def list_outputs(self, job_id: str, run_id: str) -> list[str]:
        folder = self._output_path(job_id, run_id)
        if not folder.is_dir():
            return []
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    # ------------------------------------------------------------------ payloads
    def _payload_path(self, name: str) -> Path:
        path = (self.payload_dir / name).resolve()
        if not name or name.endswith("/") or not path.is_relative_to(self.payload_dir):
            msg = f"payload name {name!r} must name a file inside the payload area"
            raise BackendError(msg)
        return path

    def put_payload(self, name: str, data: bytes) -> str:
        path = self._payload_path(name)
        _write_atomically(path, data)
        return path.as_uri()

    def get_payload(self, name: str) -> bytes | None:
        path = self._payload_path(name)
        return path.read_bytes() if path.is_file() else None

    def list_payloads(self, prefix: str = "") -> list[tuple[str, int]]:
        if not self.payload_dir.is_dir():
            return []
        found = []
        for path in self.payload_dir.rglob("*"):
            name = path.relative_to(self.payload_dir).as_posix()
            if path.is_file() and name.startswith(prefix) and not path.name.startswith("."):
                found.append((name, path.stat().st_size))
        return sorted(found)

    # ------------------------------------------------------------------ event bus
    def put_bus_event(self, *, source: str, detail_type: str, detail: dict[str, Any],
                      resources: list[str], event_bus: str | None = None) -> str:
        event_id = str(uuid.uuid4())
        item = {"source": source, "detail-type": detail_type, "detail": detail, "resources": resources}
        self._write("INSERT INTO bus_events VALUES (?, ?, ?, ?, ?, ?)",
                    (event_id, event_bus or "default", source, detail_type, json.dumps(item), iso(now_local())))
        return event_id

    def list_bus_events(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn().execute("SELECT item FROM bus_events ORDER BY ts")]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write under a temporary name, then rename: readers never see a half-written object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn
