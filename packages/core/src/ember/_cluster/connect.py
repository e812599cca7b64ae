"""Attach a driver to a running node (`init(address=...)`): Unix socket, token, memfd."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

from ember._core.common import framing, handshake, limits, messages, procutil
from ember._core.common.unix_sockets import connect_unix
from ember._core.worker.worker_process import WorkerClient


def _flusher(client: WorkerClient) -> None:
    """Send the ref and unpin events an attached driver queued while it sends nothing
    else (its threads run freely; a worker sends them from its own loop)."""
    while True:
        time.sleep(0.1)
        if client.refs.events or client.refs.dropped_generators or client.unpins:
            try:
                client.send(None)
            except OSError:
                return


def cluster_file() -> str:
    """Where `ember start --head` records how to reach the cluster on this machine."""
    return os.path.join(procutil.session_root(), "current_cluster.json")


def read_cluster(address: str) -> dict:
    """The local cluster's record; `address` is "auto" or its control-store address."""
    # A job's driver of an embedded cluster is pointed at that cluster's own record.
    path = os.environ.get("EMBER_CLUSTER_RECORD") or cluster_file()
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        raise ConnectionError(
            f"Could not find a running cluster (no {path}). Start one with "
            "`ember start --head`, or call ember.init() for an embedded one.") from None
    if address not in ("auto", info.get("gcs_address"), info.get("address")):
        raise ConnectionError(
            f"No cluster at {address!r} on this machine (the running one is at "
            f"{info.get('gcs_address')}); drivers attach to a node on their own machine.")
    if not procutil._alive(int(info.get("head_pid", 0))):
        raise ConnectionError(f"The cluster recorded in {path} is not running any more.")
    return info


class ConnectedDriver(WorkerClient):
    """A driver attached to a node manager in another process."""

    is_driver = True

    def _connection_lost(self) -> None:
        """The node went away (the cluster was stopped): unlike a worker, the driver's
        process goes on; every call waiting on the node, and every later one, raises."""
        from ember.exceptions import RaySystemError

        self.lost = RaySystemError(
            "The ember node this driver was attached to has gone away (the cluster was "
            "stopped or its node died). Call ember.shutdown(), then ember.init() again.")
        callbacks, self.callbacks = self.callbacks, {}
        self.cond.notify_all()
        for cb in callbacks.values():
            cb(False, self.lost)
        raise self.lost

    def close(self) -> None:
        try:
            self.send(None)
        except OSError:
            pass
        self.conn.close()


def connect(address: str, namespace: str | None, token: str | None = None) -> ConnectedDriver:
    info = read_cluster(address)
    if token is None:
        with open(info["token_file"]) as f:
            token = f.read().strip()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connect_unix(sock, info["node_socket"])
    except OSError as e:
        raise ConnectionError(f"Cannot reach the node manager at {info['node_socket']}: {e}") from e
    try:
        handshake.connect(sock, token.encode(), limits.handshake_timeout_s())
    except handshake.AuthenticationFailed as e:
        sock.close()
        raise ConnectionError(f"The cluster refused this driver: {e}") from None
    conn = framing.Connection(sock)
    conn.send(messages.Attach(os.getpid(), namespace or ""))
    msg, fds, _, _ = socket.recv_fds(sock, 1, 1)
    if not fds:
        sock.close()
        raise ConnectionError("The cluster refused this driver: the node manager closed "
                              "the connection")
    welcome = conn.recv_blocking()[0].info
    client = ConnectedDriver(sock, welcome["wid"], fds[0], welcome["capacity"])
    client.info = dict(welcome, gcs_address=info["gcs_address"],
                       dashboard_url=info.get("dashboard_url"))
    threading.Thread(target=_flusher, args=(client,), daemon=True, name="ember-flush").start()
    return client


def load_token(info: dict[str, Any]) -> str:
    with open(info["token_file"]) as f:
        return f.read().strip()
