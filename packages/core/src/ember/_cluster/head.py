"""The head node process: the control store plus this machine's node manager.

`ember start --head` runs this in the background (or in the foreground with --block).
Drivers on the machine attach with `ember.init(address="auto")`; every endpoint wants
the cluster token, written owner-only next to the session.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from ember._cluster import auth
from ember._cluster.connect import cluster_file
from ember._cluster.gcs_client import GcsClient
from ember._cluster.gcs_server import GcsServer
from ember._cluster.node_process import NodeAgent
from ember._cluster.protos import gcs_pb2 as pb


class Head:
    def __init__(self, host: str, port: int, resources: dict[str, float],
                 object_store_memory: int | None, storage: str | None,
                 heartbeat_period_s: float = 1.0, dead_after_s: float = 10.0,
                 dashboard: tuple[str, int | None] | None = None,
                 labels: dict[str, str] | None = None) -> None:
        from ember._core.common import procutil
        from ember._core.node.node_manager import NodeManager

        self.session_dir = procutil.new_session_dir()
        # A token given in the environment (e.g. from a Kubernetes Secret) is shared with
        # worker nodes started elsewhere; otherwise the head makes a fresh one.
        self.token = os.environ.get("EMBER_CLUSTER_TOKEN") or auth.new_token()
        self.token_file = os.path.join(self.session_dir, "token")
        auth.write_token(self.token_file, self.token)
        db = storage if storage is not None else os.path.join(self.session_dir, "gcs.sqlite")
        self.gcs = GcsServer(self.token, db, host, port, heartbeat_period_s,
                             dead_after_s).start()
        store = object_store_memory or int(min(procutil.total_memory_bytes() * 0.3, 200 << 30))
        self.manager = NodeManager(resources=resources, object_store_memory=store,
                                   session_dir=self.session_dir, job_id=b"\0\0\0\0",
                                   namespace="default", log_to_driver=True,
                                   node_ip=procutil.node_ip(host), labels=labels)
        self.node_socket = os.path.join(self.session_dir, "node.sock")
        self.client = GcsClient(self.gcs.address, self.token)
        self._jobs: dict[int, str] = {}
        self.manager.on_driver_change = self._driver_changed
        self.manager.listen(self.node_socket, self.token)
        self.agent = NodeAgent(self.manager, self.client, self.token, host, is_head=True)
        self.dashboard = None
        if dashboard is not None:
            from ember.dashboard import start_for_head

            self.dashboard = start_for_head(self, *dashboard)
        self._write_cluster_file()

    def _write_cluster_file(self) -> None:
        info = {"gcs_address": self.gcs.address, "address": self.gcs.address,
                "node_socket": self.node_socket, "token_file": self.token_file,
                "head_pid": os.getpid(), "session_dir": self.session_dir,
                "node_id": self.manager.node_id,
                "dashboard_url": self.dashboard.url if self.dashboard else None}
        tmp = cluster_file() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, cluster_file())

    def _driver_changed(self, connected: bool, w: Any, job_id: bytes) -> None:
        # Runs in the node manager's IO thread: keep the control store call off it.
        def record() -> None:
            try:
                if connected:
                    self.client.add_job(pb.Job(job_id=job_id.hex(), driver_pid=w.pid,
                                               status="RUNNING"))
                    self._jobs[w.wid] = job_id.hex()
                elif w.wid in self._jobs:
                    self.client.finish_job(self._jobs.pop(w.wid), "SUCCEEDED")
            except Exception:  # noqa: BLE001
                pass

        # In order: a driver that leaves at once must not be ended before it is added.
        self.manager.cluster.run_ordered(record)

    def stop(self) -> None:
        if self.dashboard is not None:
            self.dashboard.stop()
        self.agent.stop("head stopped")
        self.manager.shutdown()
        self.client.close()
        self.gcs.stop()
        try:
            with open(cluster_file()) as f:
                if json.load(f).get("head_pid") == os.getpid():
                    os.remove(cluster_file())
        except (OSError, ValueError):
            pass
        import shutil

        shutil.rmtree(self.session_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ember-head")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6379)
    p.add_argument("--resources-json", default="{}")
    p.add_argument("--labels-json", default="{}")
    p.add_argument("--object-store-memory", type=int, default=None)
    p.add_argument("--storage", default=None)
    p.add_argument("--heartbeat-period", type=float, default=1.0)
    p.add_argument("--dead-after", type=float, default=10.0)
    p.add_argument("--dashboard-host", default=None, help="default: --host")
    p.add_argument("--dashboard-port", type=int, default=None, help="default 8265")
    p.add_argument("--no-dashboard", action="store_true")
    args = p.parse_args(argv)
    resources = json.loads(args.resources_json)
    dashboard = None if args.no_dashboard else (args.dashboard_host or args.host,
                                                args.dashboard_port)
    head = Head(args.host, args.port, resources, args.object_store_memory, args.storage,
                args.heartbeat_period, args.dead_after, dashboard,
                labels=json.loads(args.labels_json))
    done = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps({"gcs_address": head.gcs.address, "node_id": head.manager.node_id}),
          flush=True)
    while not done.wait(1.0):
        pass
    head.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
