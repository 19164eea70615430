"""Group commit for the local realm: one writer thread per database file per process.

Every write of the process goes through this thread, which commits everything
pending in a single transaction (each operation inside its own savepoint, so one
failing operation does not undo the others). Threads of a worker no longer queue
on the database's write lock one transaction at a time, and a busy worker pays
for one commit per batch instead of one per write.

Operations run in submission order. A caller that waits for its operation
therefore also knows every operation submitted before it is committed, which is
what lets event writes be fire-and-forget: the worker deletes a message (and
waits) only after the run's events were submitted.
"""

from __future__ import annotations

import atexit
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("lava.backend.local")

_BATCH_MAX = 256
Operation = Callable[[sqlite3.Connection], Any]


class _Pending:
    __slots__ = ("done", "error", "fn", "result", "single")

    def __init__(self, fn: Operation, wait: bool, single: bool) -> None:
        self.fn = fn
        self.single = single
        # A held lock the writer releases: lighter than an Event (no Condition per write).
        self.done: threading.Lock | None = None
        if wait:
            self.done = threading.Lock()
            self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupWriter:
    """Serialises and batches the writes of this process to one SQLite file."""

    def __init__(self, path: Path, connect: Callable[[Path], sqlite3.Connection]) -> None:
        self._path = path
        self._connect = connect
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"lava-sqlite-writer:{path.name}", daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def submit(self, fn: Operation, *, wait: bool = True, single: bool = False) -> Any:
        """Run ``fn(conn)`` inside the next batch; with ``wait``, return its result or raise its error.

        ``single`` says ``fn`` runs one SQL statement, which SQLite already applies
        all or nothing, so it needs no savepoint of its own.
        """
        pending = _Pending(fn, wait, single)
        self._queue.put(pending)
        if pending.done is None:
            return None
        pending.done.acquire()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        if self._thread.is_alive():
            self.submit(lambda _conn: None)

    def _run(self) -> None:
        conn = self._connect(self._path)
        while True:
            batch = [self._queue.get()]
            while len(batch) < _BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(conn, batch)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Pending]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            for pending in batch:
                if pending.single:
                    try:
                        pending.result = pending.fn(conn)
                    except Exception as exc:  # noqa: BLE001 - handed to the caller that submitted it
                        pending.error = exc
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    pending.result = pending.fn(conn)
                except Exception as exc:  # noqa: BLE001 - handed to the caller that submitted it
                    conn.execute("ROLLBACK TO op")
                    pending.error = exc
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: every caller hears of it
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for pending in batch:
                pending.error = pending.error or exc
        for pending in batch:
            if pending.done is not None:
                pending.done.release()
            elif pending.error is not None:
                log.error("background write to %s failed: %s", self._path, pending.error)


_WRITERS: dict[Path, GroupWriter] = {}
_GUARD = threading.Lock()


def writer_for(path: Path, connect: Callable[[Path], sqlite3.Connection]) -> GroupWriter:
    """The process's writer for ``path``, started on first use."""
    with _GUARD:
        writer = _WRITERS.get(path)
        if writer is None:
            writer = _WRITERS[path] = GroupWriter(path, connect)
        return writer
