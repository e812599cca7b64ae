"""What the dashboard serves from: the node manager of its process, the control store (on a
head), the job manager and the log directories."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager
    from ember.dashboard.job_manager import JobManager


@dataclasses.dataclass
class Backend:
    """The dashboard's view of the cluster; every call is thread-safe.

    `manager` is the NodeManager in this process; `gcs` the control store client on a
    head (None for an embedded cluster); `jobs` runs submitted jobs (None: refused);
    `log_dirs` the directories whose files `list_logs`/`get_log` serve; `attach` makes
    this process a driver of the cluster, for what only actors answer (Serve's
    applications; None: not served here).
    """

    manager: NodeManager
    session_dir: str
    jobs: JobManager | None = None
    gcs: Any = None
    log_dirs: list[str] = dataclasses.field(default_factory=list)
    attach: Callable[[], None] | None = None

    def request(self, op: str, *args: Any) -> Any:
        """A request to the node manager, as a driver makes it."""
        return self.manager.request(op, args)

    def nodes(self) -> list[dict]:
        """Every node the cluster knows (alive and dead) on a head; else this node."""
        if self.gcs is None:
            from ember._cluster.node_process import node_stats

            return [{**_node_row(self.manager.node_info(), True),
                     **_usage(node_stats(self.manager))}]
        rows = []
        for n in self.gcs.nodes():
            rows.append({"node_id": n.node_id, "state": n.state, "is_head_node": n.is_head,
                         "node_ip": n.address.rsplit(":", 1)[0],
                         "resources_total": dict(n.resources),
                         "resources_available": dict(n.available),
                         "pending_demand": n.pending_demand, **_usage(dict(n.stats))})
        return rows

    def log_files(self) -> list[tuple[str, str]]:
        """(name, path) of every log file served, names unique."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for d in self.log_dirs:
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            for name in names:
                path = os.path.join(d, name)
                if name.endswith((".log", ".out", ".err")) and name not in seen and \
                        os.path.isfile(path):
                    seen.add(name)
                    out.append((name, path))
        return out

    def close(self) -> None:
        if self.jobs is not None:
            self.jobs.close()


_USAGE = ("mem_total", "mem_used", "object_store_used", "object_store_capacity")


def _usage(stats: dict[str, float]) -> dict[str, int]:
    """A node's memory and object store use (bytes), as its heartbeat reported them."""
    return {k: int(stats[k]) for k in _USAGE if k in stats}


def _node_row(info: dict, is_head: bool) -> dict:
    return {"node_id": info["NodeID"], "state": info.get("state", "ALIVE"),
            "is_head_node": is_head, "node_ip": info.get("NodeManagerAddress", "127.0.0.1"),
            "resources_total": dict(info.get("Resources") or {})}


__all__ = ["Backend"]
