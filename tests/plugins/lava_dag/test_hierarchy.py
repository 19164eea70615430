"""Globals and lineage through three levels: a chain inside a dag inside a foreach.

foreach F (2 iterations) -> dag D -> chain C -> cmd L. Checked from the events
table (each child's item names its parent and the master) and from what each
level saw (D and C through their ``event_log``, L through what it writes).
"""

from __future__ import annotations

import logging

from lava_core.testing import put_jobs

from tests.plugins.lava_dag.helpers import run_job

LINEAGE = "{{ globals.lava.parent_job_id }}/{{ globals.lava.master_job_id }}/{{ globals.lava.foreach_index }}"


def test_chain_in_dag_in_foreach(realm, marks, caplog):
    leaf = ("echo '{{ globals.lava.foreach_index }} g={{ globals.g }} k={{ globals.k }} d={{ globals.d }} "
            "c={{ globals.c }} h={{ globals.h }} parent={{ globals.lava.parent_job_id }} "
            "master={{ globals.lava.master_job_id }} "
            "master_start={{ globals.lava.master_start.isoformat(timespec=\"milliseconds\") }} "
            "parent_start={{ globals.lava.parent_start.isoformat(timespec=\"milliseconds\") }}' >> {{ globals.marks }}")
    put_jobs(realm,
             {"job_id": "F", "type": "foreach", "payload": "D",
              "parameters": {"foreach": {"type": "inline", "values": [{"g": "v0"}, {"g": "v1"}]}},
              "globals": {"g": "F", "k": "F", "marks": str(marks)},
              "on_success": [{"action": "log", "message": "after: parent={{ globals.lava.parent_job_id }} "
                                                          "index={{ globals.lava.foreach_index }}"}]},
             {"job_id": "D", "type": "dag", "payload": {"C": None}, "globals": {"g": "D", "d": "D"},
              "event_log": LINEAGE},
             {"job_id": "C", "type": "chain", "payload": "L", "globals": {"c": "C", "d": "C"}, "event_log": LINEAGE},
             {"job_id": "L", "type": "cmd", "payload": leaf, "globals": {"g": "L", "h": "L"}})
    with caplog.at_level(logging.INFO, logger="lava.action"):
        event, run_id = run_job(realm, "F")
    assert event.status == "complete"
    assert event.parent_job_id is None and event.master_job_id is None  # the top job has no lineage

    # Every child has its own item under F's run id, linked to its parent and to the master.
    items = {job_id: realm.get_event(job_id, run_id) for job_id in ("D", "C", "L")}
    assert {k: (e.status, e.parent_job_id, e.master_job_id) for k, e in items.items()} == {
        "D": ("complete", "F", "F"), "C": ("complete", "D", "F"), "L": ("complete", "C", "F")}
    # What D and C saw, once per iteration: parent_* is the immediate parent, master_* the top job.
    for job_id, parent in (("D", "F"), ("C", "D")):
        assert [e.info for e in items[job_id].log if e.status == "logging"] == [f"{parent}/F/0", f"{parent}/F/1"]

    # The leaf: iteration values beat every level; each parent's globals beat its child's spec.
    f_start = event.log[0].ts_event
    c_starts = [e.ts_event for e in items["C"].log if e.status == "starting"]
    assert marks.read_text().splitlines() == [
        f"{i} g=v{i} k=F d=D c=C h=L parent=C master=F master_start={f_start} parent_start={c_starts[i]}"
        for i in range(2)]

    # Children got copies of globals.lava: F's own view is untouched after they ran.
    after = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "lava.action"]
    assert after == ["after: parent=F index="]
