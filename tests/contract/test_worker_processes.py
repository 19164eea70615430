"""Real worker processes sharing a realm (local or AWS): crashes, signals, long jobs, several workers."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import put_jobs, wait_for_status

pytestmark = pytest.mark.slow


def _marker_job(job_id: str, marker_dir: Path, seconds: float) -> dict:
    """A job that appends the worker pid to a marker file, then sleeps."""
    return {"job_id": job_id, "type": "cmd",
            "payload": f"echo $PPID-$$ >> {marker_dir}/{job_id}.runs; sleep {seconds}; echo done"}


def _alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (killed, not yet reaped by PID 1) counts as dead."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_for_file(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return
        time.sleep(0.05)
    pytest.fail(f"{path} never appeared")


def test_long_job_outliving_visibility_runs_exactly_once(realm, lava_worker, tmp_path):
    """lava's known pitfall: a run longer than the visibility timeout ran twice. Not here."""
    put_jobs(realm, _marker_job("long", tmp_path, 5))
    run_id = send(realm, DispatchRequest(job_id="long")).run_id
    workers = [lava_worker(realm, "core", "--visibility-timeout", "1s", "--poll-wait", "0.2s")
               for _ in range(2)]
    event = wait_for_status(realm, "long", run_id, timeout=30)
    assert event.status == "complete"
    assert len((tmp_path / "long.runs").read_text().splitlines()) == 1
    assert [e.status for e in event.log].count("running") == 1
    assert realm.queue_depth("core") == (0, 0)
    for worker in workers:
        worker.signal(signal.SIGTERM)
        assert worker.wait(20) == 0


def test_kill_9_mid_job_loses_nothing(realm, lava_worker, tmp_path):
    put_jobs(realm, _marker_job("crash", tmp_path, 3))
    run_id = send(realm, DispatchRequest(job_id="crash")).run_id
    first = lava_worker(realm, "core", "--visibility-timeout", "2s", "--poll-wait", "0.2s")
    _wait_for_file(tmp_path / "crash.runs")
    # A long run shows `running` within the hold time of held event steps.
    assert wait_for_status(realm, "crash", run_id, {"running"}, timeout=5).status == "running"
    first.kill9()
    second = lava_worker(realm, "core", "--visibility-timeout", "2s", "--poll-wait", "0.2s", "--drain")
    event = wait_for_status(realm, "crash", run_id, timeout=30)
    assert event.status == "complete"
    assert second.wait(30) == 0
    runs = (tmp_path / "crash.runs").read_text().splitlines()
    assert len(runs) == 2, "the redelivered message ran again on the second worker"
    statuses = [e.status for e in event.log]
    assert statuses == ["starting", "running", "starting", "running", "complete"]
    assert realm.queue_depth("core") == (0, 0)


def test_sigterm_lets_running_job_finish_and_takes_no_more(realm, lava_worker, tmp_path):
    put_jobs(realm, _marker_job("slow", tmp_path, 2), {"job_id": "next", "type": "cmd", "payload": "true"})
    slow = send(realm, DispatchRequest(job_id="slow")).run_id
    worker = lava_worker(realm, "core", "--threads", "1", "--poll-wait", "0.2s")
    _wait_for_file(tmp_path / "slow.runs")
    pending = send(realm, DispatchRequest(job_id="next")).run_id
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert realm.get_event("slow", slow).status == "complete"
    assert realm.get_event("next", pending) is None
    assert realm.queue_depth("core")[0] == 1  # still waiting for another worker
    assert "no new jobs" in worker.log()


def test_second_signal_kills_jobs_and_leaves_message(realm, lava_worker, tmp_path):
    put_jobs(realm, _marker_job("stuck", tmp_path, 60))
    run_id = send(realm, DispatchRequest(job_id="stuck")).run_id
    worker = lava_worker(realm, "core", "--visibility-timeout", "2s", "--poll-wait", "0.2s")
    _wait_for_file(tmp_path / "stuck.runs")
    job_pid = int((tmp_path / "stuck.runs").read_text().split("-")[1])
    worker.signal(signal.SIGTERM)
    time.sleep(0.5)
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 143
    time.sleep(0.2)
    assert not _alive(job_pid)
    event = realm.get_event("stuck", run_id)
    assert event.status == "running"  # not recorded as failed: the run will happen again
    time.sleep(2.2)
    visible, hidden = realm.queue_depth("core")
    assert (visible, hidden) == (1, 0)


def test_grace_period_expiry_stops_hard(realm, lava_worker, tmp_path):
    put_jobs(realm, _marker_job("overrun", tmp_path, 60))
    send(realm, DispatchRequest(job_id="overrun"))
    worker = lava_worker(realm, "core", "--grace", "1s", "--poll-wait", "0.2s", "--visibility-timeout", "2s")
    _wait_for_file(tmp_path / "overrun.runs")
    started = time.monotonic()
    worker.signal(signal.SIGINT)
    assert worker.wait(20) == 143
    assert time.monotonic() - started < 10
    assert "grace period over" in worker.log()


def test_several_workers_share_a_realm_without_double_runs(realm, lava_worker, tmp_path):
    put_jobs(realm, {"job_id": "tick", "type": "cmd",
                          "payload": f"echo {{{{ globals.n }}}} >> {tmp_path}/ticks"})
    run_ids = [send(realm, DispatchRequest(job_id="tick", globals={"n": n})).run_id for n in range(40)]
    workers = [lava_worker(realm, "core", "--threads", "2", "--poll-wait", "0.2s", "--drain")
               for _ in range(3)]
    for worker in workers:
        assert worker.wait(60) == 0
    for run_id in run_ids:
        assert realm.get_event("tick", run_id).status == "complete"
    ticks = sorted(int(x) for x in (tmp_path / "ticks").read_text().split())
    assert ticks == list(range(40))


def test_a_long_run_shows_running_while_it_runs(realm, lava_worker, tmp_path):
    put_jobs(realm, _marker_job("visible", tmp_path, 3))
    run_id = send(realm, DispatchRequest(job_id="visible")).run_id
    worker = lava_worker(realm, "core", "--poll-wait", "0.2s", "--drain")
    _wait_for_file(tmp_path / "visible.runs")
    event = wait_for_status(realm, "visible", run_id, {"running"}, timeout=1.0)
    assert [e.status for e in event.log] == ["starting", "running"]
    assert (tmp_path / "visible.runs").read_text().count("\n") == 1  # still the first and only attempt
    assert worker.wait(30) == 0
    assert [e.status for e in realm.get_event("visible", run_id).log] == ["starting", "running", "complete"]
