"""A worker node process: a node manager that joins the cluster through its control store.

`ember start --address=HOST:PORT` runs this. It needs the cluster token (--token-file, or
EMBER_CLUSTER_TOKEN), and it exits when it loses the control store for long enough or
when it is signalled.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from ember._cluster.gcs_client import GcsClient
from ember._cluster.node_process import NodeAgent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ember-worker-node")
    p.add_argument("--address", required=True, help="the control store, host:port")
    p.add_argument("--token-file", default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--resources-json", default="{}")
    p.add_argument("--labels-json", default="{}")
    p.add_argument("--object-store-memory", type=int, default=None)
    p.add_argument("--metrics-export-port", type=int, default=None,
                   help="this node's /metrics (and state) server; default: a free port")
    p.add_argument("--no-metrics-export", action="store_true")
    p.add_argument("--log-file", default=None,
                   help="after start-up, stdout/stderr (and workers' output) go here")
    args = p.parse_args(argv)
    ready = sys.stdout
    if args.log_file:  # the ready line goes to the original stdout, the rest to the log
        ready = os.fdopen(os.dup(1), "w")
        log = os.open(args.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    token = os.environ.get("EMBER_CLUSTER_TOKEN", "")
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    if not token:
        print("A worker node needs the cluster token: --token-file or EMBER_CLUSTER_TOKEN.",
              file=sys.stderr)
        return 2
    from ember._core.common import procutil
    from ember._core.node.node_manager import NodeManager

    session_dir = procutil.new_session_dir()
    store = args.object_store_memory or int(min(procutil.total_memory_bytes() * 0.3, 200 << 30))
    manager = NodeManager(resources=json.loads(args.resources_json), object_store_memory=store,
                          session_dir=session_dir, job_id=b"\0\0\0\0", namespace="default",
                          node_ip=procutil.node_ip(args.host), is_head=False,
                          labels=json.loads(args.labels_json))
    gcs = GcsClient(args.address, token)
    agent = NodeAgent(manager, gcs, token, args.host, is_head=False)
    done = threading.Event()
    agent.on_lost = done.set

    def on_signal(_sig: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    metrics = None
    if not args.no_metrics_export:
        from ember.dashboard import dependencies_installed, start_for_node

        if dependencies_installed():
            metrics = start_for_node(manager, session_dir, token, args.host,
                                     args.metrics_export_port or 0)
    print(json.dumps({"node_id": manager.node_id, "address": agent.address,
                      "metrics_url": metrics.url if metrics else None}), file=ready,
          flush=True)
    if ready is not sys.stdout:
        ready.close()
    while not done.wait(1.0):
        pass
    if metrics is not None:
        metrics.stop()
    agent.stop("worker node stopped")
    manager.shutdown()
    import shutil

    shutil.rmtree(session_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
