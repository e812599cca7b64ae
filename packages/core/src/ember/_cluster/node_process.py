"""What every node process runs besides its node manager: registration with the control
store, heartbeats, and the periodic refresh of the other nodes' resources."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ember._cluster.gcs_client import GcsClient
from ember._cluster.link import ClusterLink
from ember._core.node.demands import pending_demands

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager


class NodeAgent:
    """Keeps one node manager registered and in sync with the cluster."""

    def __init__(self, manager: NodeManager, gcs: GcsClient, token: str, host: str,
                 is_head: bool) -> None:
        self.manager = manager
        self.gcs = gcs
        link = ClusterLink(manager, token, host)
        manager.attach_cluster(link, gcs)
        self.address = link.address
        self.labels = {**manager.labels, "transfer": link.transfer_server.address}
        self.period = gcs.register_node(manager.node_id, self.address,
                                        dict(manager.total_resources), self.labels,
                                        is_head=is_head)
        self._stop = threading.Event()
        self._sync = threading.Lock()
        # Placement group rows the control store has not stored yet (the latest per
        # group). A thread of their own sends them, so that a burst of groups (each row
        # is a committed write there) never holds up the heartbeats: a node that missed
        # them for `dead_after` would be declared dead while it runs.
        self._rows: dict[str, Any] = {}
        self._rows_lock = threading.Lock()
        self._rows_ready = threading.Event()
        threading.Thread(target=self._send_rows, daemon=True, name="ember-agent-pgs").start()
        self.sync()
        # Membership changes arrive at once by pubsub; the loop also refreshes resources.
        self._unsubscribe = gcs.subscribe_in_background(["NODE"], lambda _m: self.sync())
        self._thread = threading.Thread(target=self._run, daemon=True, name="ember-agent")
        self._thread.start()

    def sync(self) -> None:
        with self._sync:
            try:
                self.manager.remote.sync_peers(self.gcs.nodes())
            except Exception:  # noqa: BLE001 - retried by the loop
                pass

    def _run(self) -> None:
        m = self.manager
        failures = 0
        while not self._stop.wait(self.period):
            with m.lock:
                available = m.scheduler.available(m.node_id)
                pending = float(sum(len(q) for q in m.task_manager.queues.values()))
                demands = pending_demands(m)
                placement = m.placement
                rows = [_group_row(placement.pgs[i]) for i in placement.pgs_changed
                        if i in placement.pgs]
                placement.pgs_changed.clear()
            if rows:
                with self._rows_lock:
                    self._rows.update((r.pg_id, r) for r in rows)
                self._rows_ready.set()
            try:
                if not self.gcs.heartbeat(m.node_id, available, pending, node_stats(m),
                                         demands):
                    self.gcs.register_node(m.node_id, self.address, dict(m.total_resources),
                                           self.labels)
                self.sync()
                failures = 0
            except Exception:  # noqa: BLE001 - the control store may be restarting
                failures += 1
                if failures * self.period > 30 and self.on_lost is not None:
                    self.on_lost()
                    return

    on_lost: Any = None

    def _send_rows(self) -> None:
        """Store changed placement group rows in the control store, newest per group."""
        while not self._stop.is_set():
            self._rows_ready.wait(self.period)
            self._rows_ready.clear()
            with self._rows_lock:
                rows, self._rows = self._rows, {}
            items = list(rows.items())
            for n, (_pg_id, row) in enumerate(items):
                try:
                    self.gcs.put_placement_group(row)
                except Exception:  # noqa: BLE001 - the control store may be restarting
                    with self._rows_lock:
                        for pg_id, r in items[n:]:
                            self._rows.setdefault(pg_id, r)  # a newer row wins
                    self._stop.wait(self.period)
                    break

    def stop(self, reason: str) -> None:
        self._stop.set()
        self._unsubscribe()
        try:
            self.gcs.unregister_node(self.manager.node_id, reason)
        except Exception:  # noqa: BLE001
            pass


def node_stats(manager: Any) -> dict[str, float]:
    """What the node reports besides resources, for the dashboard: the machine's memory
    and the object store's use, in bytes."""
    out: dict[str, float] = {}
    try:
        with open("/proc/meminfo") as f:
            info = {k: int(v.split()[0]) * 1024 for k, _, v in
                    (line.partition(":") for line in f) if v.strip()}
        out["mem_total"] = info["MemTotal"]
        out["mem_used"] = info["MemTotal"] - info.get("MemAvailable", 0)
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        store = manager.store.stats()
        out["object_store_used"] = store["used_bytes"]
        out["object_store_capacity"] = store["capacity"]
    except Exception:  # noqa: BLE001 - the store is closing
        pass
    return out


def _group_row(pg: Any) -> Any:
    """A placement group as the control store records it."""
    from ember._cluster.protos import gcs_pb2 as pb

    return pb.PlacementGroup(
        pg_id=pg.pg_id, name=pg.name, strategy=pg.strategy, state=pg.state,
        bundles=[pb.Bundle(resources=b) for b in pg.bundles], bundle_nodes=pg.nodes,
        detached=pg.lifetime == "detached")
