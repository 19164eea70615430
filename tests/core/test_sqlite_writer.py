"""The local realm's group-commit writer: batching, isolation of failures, ordering."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from lava_core.backend.sqlite_writer import GroupWriter


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.db"
    conn = connect(path)
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    return path


def rows(path):
    conn = connect(path)
    try:
        return conn.execute("SELECT k, v FROM t ORDER BY k").fetchall()
    finally:
        conn.close()


def test_failing_operations_do_not_undo_their_batch_mates(db):
    writer = GroupWriter(db, connect)
    gate = threading.Event()
    # Hold the writer so the next operations land in one batch together.
    writer.submit(lambda conn: gate.wait(5), wait=False)

    def multi_then_fail(conn):
        conn.execute("INSERT INTO t VALUES (2, 'undone')")
        raise ValueError("boom")

    writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'a')"), wait=False, single=True)
    writer.submit(multi_then_fail, wait=False)
    writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'dup')"), wait=False, single=True)
    writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (3, 'c')"), wait=False, single=True)
    gate.set()
    writer.flush()
    assert rows(db) == [(1, "a"), (3, "c")]


def test_waited_errors_reach_the_caller_and_results_come_back(db):
    writer = GroupWriter(db, connect)
    assert writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'a')").rowcount, single=True) == 1
    with pytest.raises(sqlite3.IntegrityError):
        writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'b')"), single=True)
    with pytest.raises(ValueError, match="nope"):
        writer.submit(lambda conn: (_ for _ in ()).throw(ValueError("nope")))
    assert rows(db) == [(1, "a")]


def test_operations_apply_in_submission_order_across_threads(db):
    writer = GroupWriter(db, connect)
    seen = {}

    def worker(base):
        for i in range(50):
            writer.submit(lambda conn, k=base + i: conn.execute("INSERT INTO t VALUES (?, 'x')", (k,)), wait=False,
                          single=True)
        # A waited operation after fire-and-forget ones: all of them are committed when it returns.
        writer.submit(lambda conn: None)
        seen[base] = len([r for r in rows(db) if base <= r[0] < base + 50])

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == {0: 50, 1000: 50, 2000: 50, 3000: 50}
    assert len(rows(db)) == 200
