"""What the dashboard asks a node manager: paged state rows, system metrics, user metrics.

A mixin of NodeManager. Every request runs under the node's lock and only reads (or, for
metric reports, replaces one snapshot), so the dashboard never holds up scheduling for
long: a page is filtered and cut here and only the page crosses to the caller.
"""

from __future__ import annotations

import os
from typing import Any

from ember._core.records import DEAD

_FILTER_OPS = ("=", "!=")
# Metric snapshots of processes that exited are kept (their counters still count), up to:
_MAX_METRIC_SOURCES = 4096


def _matches(row: dict, filters: list[tuple[str, str, Any]]) -> bool:
    for key, op, value in filters:
        if (str(row.get(key)) == str(value)) != (op == "="):
            return False
    return True


class IntrospectionMixin:
    def _init_introspection(self) -> None:
        # pid -> the last metric snapshot that process reported (ember.util.metrics).
        self.user_metrics: dict[int, list] = {}

    def op_state_page(self, caller: int, reply: Any, kind: str,
                      filters: list[tuple[str, str, Any]], offset: int,
                      limit: int) -> dict:
        """{"total": rows matching the filters, "rows": the page [offset, offset+limit)}.

        Task rows are newest last, as the history is kept."""
        for _key, op, _value in filters:
            if op not in _FILTER_OPS:
                raise ValueError(f"Unsupported filter operator {op!r}; use '=' or '!='.")
        if kind == "tasks":
            return self._task_page(filters, offset, limit)
        source = self.op_state(caller, reply, kind)
        if filters:
            source = [r for r in source if _matches(r, filters)]
        total = len(source)
        return {"total": total, "rows": list(source[offset:offset + limit])}

    def _task_page(self, filters: list[tuple[str, str, Any]], offset: int,
                   limit: int) -> dict:
        """Finished tasks (oldest first) then live ones, filtered and cut."""
        done_total, rows = self.history.page(filters, offset, limit)
        live = [self._task_summary(t) for t in self.tasks.values()]
        if filters:
            live = [r for r in live if _matches(r, filters)]
        start = max(0, offset - done_total)
        rows += live[start:start + max(0, limit - len(rows))]
        return {"total": done_total + len(live), "rows": rows}

    def op_state_summary(self, caller: int, reply: Any, kind: str) -> dict:
        """Counts per name and state (tasks: function name; actors: class name), or for
        objects their count and bytes per state, as Ray's summarize_* report them."""
        if kind in ("tasks", "actors"):
            if kind == "tasks":
                pairs = dict(self.history.counts())
                for t in self.tasks.values():
                    pairs[(t.name, t.state)] = pairs.get((t.name, t.state), 0) + 1
                label = "func_or_class_name"
            else:
                pairs = {}
                for a in self.actors.values():
                    if not a.proxy:
                        key = (a.class_name, a.state)
                        pairs[key] = pairs.get(key, 0) + 1
                label = "class_name"
            summary: dict[str, dict] = {}
            for (name, state), n in pairs.items():
                entry = summary.setdefault(name, {label: name, "state_counts": {}})
                entry["state_counts"][state] = entry["state_counts"].get(state, 0) + n
            return {"summary": summary, "total": sum(pairs.values())}
        if kind == "objects":
            by_state: dict[str, dict] = {}
            for e in self.objects.entries.values():
                s = by_state.setdefault("READY" if e.state else "PENDING",
                                        {"count": 0, "total_size_bytes": 0})
                s["count"] += 1
                s["total_size_bytes"] += e.size or 0
            return {"summary": by_state,
                    "total": sum(s["count"] for s in by_state.values())}
        raise ValueError(f"cannot summarize {kind!r}")

    def op_metrics_report(self, caller: int, reply: Any, pid: int, snapshot: list) -> None:
        """A process's user metrics (ember.util.metrics), replacing its last report."""
        if pid not in self.user_metrics and len(self.user_metrics) >= _MAX_METRIC_SOURCES:
            self.user_metrics.pop(next(iter(self.user_metrics)))
        self.user_metrics[pid] = snapshot

    def op_metrics(self, caller: int, reply: Any) -> dict:
        """The node's system metrics and every process's user metrics, for /metrics."""
        live: dict[str, int] = {}
        for t in self.tasks.values():
            live[t.state] = live.get(t.state, 0) + 1
        actors: dict[str, int] = {}
        for a in self.actors.values():
            if not a.proxy:
                actors[a.state] = actors.get(a.state, 0) + 1
        return {
            "node_id": self.node_id,
            "tasks_live": live,
            "tasks_finished": dict(self.task_totals),
            "actors": actors,
            "actors_dead": sum(1 for a in self.actors.values() if a.state == DEAD),
            "store": self.store.stats(),
            "resources_total": dict(self.scheduler.total(self.node_id)),
            "resources_available": dict(self.scheduler.available(self.node_id)),
            "workers": len(self.workers),
            "pid": os.getpid(),
            "user": [m for snap in self.user_metrics.values() for m in snap],
        }


__all__ = ["IntrospectionMixin"]
