"""Starting the dashboard for an embedded cluster (`ember.init()`) or a head node."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.dashboard.server import DashboardServer

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager


def start_for_session(manager: NodeManager, session_dir: str, token: str,
                      host: str = "127.0.0.1", port: int | None = None) -> DashboardServer:
    """The dashboard of an embedded cluster, with the Jobs API: a job's driver attaches
    to this driver's node through the session's record (`ember._cluster.embedded`)."""
    from ember._cluster.embedded import record_path
    from ember.dashboard.backend import Backend
    from ember.dashboard.job_manager import JobManager, MemoryJobStore

    jobs = JobManager(MemoryJobStore(), os.path.join(session_dir, "jobs"),
                      {"EMBER_ADDRESS": "auto", "EMBER_CLUSTER_RECORD": record_path(session_dir)},
                      manager.node_id)
    backend = Backend(manager, session_dir, jobs=jobs,
                      log_dirs=[jobs.logs_dir, manager.log_dir],
                      attach=lambda: None)  # this process is the cluster's driver
    return DashboardServer(backend, token, host, port)


def start_for_node(manager: NodeManager, session_dir: str, token: str, host: str = "127.0.0.1",
                   port: int | None = 0) -> DashboardServer:
    """A worker node's server (Ray's per-node metrics export port): /metrics, the state,
    logs and timeline of this node, behind the cluster token."""
    from ember.dashboard.backend import Backend

    backend = Backend(manager, session_dir, log_dirs=[manager.log_dir])
    return DashboardServer(backend, token, host, port)


def start_for_head(head: Any, host: str = "127.0.0.1",
                   port: int | None = None) -> DashboardServer:
    """The head's dashboard, with the Jobs API: job records in the control store, job
    logs and packages under the session root (so both outlive a head restart)."""
    from ember._core.common import procutil
    from ember.dashboard.backend import Backend
    from ember.dashboard.job_manager import GcsJobStore, JobManager

    work_dir = os.path.join(procutil.session_root(), "jobs")
    jobs = JobManager(GcsJobStore(head.client), work_dir, {"EMBER_ADDRESS": "auto"},
                      head.manager.node_id)
    backend = Backend(head.manager, head.session_dir, jobs=jobs, gcs=head.client,
                      log_dirs=[jobs.logs_dir, head.manager.log_dir,
                                procutil.session_root()],
                      attach=_attach_once(head.gcs.address))
    return DashboardServer(backend, head.token, host, port)


def _attach_once(address: str) -> Callable[[], None]:
    """Makes the head's process a driver of its own cluster on first use (as Ray's
    dashboard does, in the same namespace), so it can ask actors."""
    lock = threading.Lock()

    def attach() -> None:
        import ember

        with lock:
            if not ember.is_initialized():
                ember.init(address=address, namespace="_ray_internal_dashboard",
                           log_to_driver=False)

    return attach


__all__ = ["start_for_head", "start_for_node", "start_for_session"]
