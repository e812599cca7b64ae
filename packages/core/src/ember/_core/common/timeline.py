"""Chrome trace events (viewable in Perfetto or chrome://tracing) from task state rows."""

from __future__ import annotations

from typing import Any


def chrome_trace(rows: list[dict]) -> list[dict[str, Any]]:
    """One complete ("X") event per task or actor call that ran, with its real start and
    duration in microseconds; one process lane per node and one thread lane per worker
    (named by metadata events). Tasks that never started are left out."""
    nodes: dict[str, int] = {}
    workers: set[tuple[int, int]] = set()
    events: list[dict[str, Any]] = []
    for r in rows:
        start, end = r.get("start_time_ms"), r.get("end_time_ms")
        if not start or not end:
            continue
        node = r.get("node_id") or ""
        pid = nodes.setdefault(node, len(nodes) + 1)
        tid = int(r.get("pid") or r.get("worker_pid") or 0)
        workers.add((pid, tid))
        start_us = float(r.get("start_time_us") or start * 1000)
        end_us = float(r.get("end_time_us") or end * 1000)
        events.append({
            "name": r.get("name") or r.get("type", "task"), "cat": r.get("type", "NORMAL_TASK"),
            "ph": "X", "ts": start_us, "dur": max(end_us - start_us, 0.0), "pid": pid,
            "tid": tid, "args": {k: r.get(k) for k in ("task_id", "state", "actor_id",
                                                       "node_id") if r.get(k)},
        })
    events.sort(key=lambda e: e["ts"])
    meta: list[dict[str, Any]] = []
    for node, pid in nodes.items():
        meta.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                     "args": {"name": f"node {node[:12]}"}})
    for pid, tid in sorted(workers):
        meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                     "args": {"name": f"worker pid={tid}"}})
    return meta + events


__all__ = ["chrome_trace"]
