"""Making an embedded cluster (`ember.init()`) joinable, as Ray's local cluster is: the
node accepts drivers on an owner-only Unix socket that present the session's token, and
the session's record is published where `ember.init("auto")` looks, unless a cluster
started with `ember start --head` already holds that place.

An embedded record is marked `"embedded": true`: `ember start --head` takes its place
(a head's record wins) and `ember stop` leaves its process alone (it is someone's
program, not a cluster process).
"""

from __future__ import annotations

import json
import os
import secrets
from typing import TYPE_CHECKING

from ember._cluster.connect import cluster_file
from ember._core.common import procutil

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

__all__ = ["publish", "record_path", "session_token", "withdraw"]


def session_token(session_dir: str) -> str:
    """The session's token: EMBER_CLUSTER_TOKEN if set, else a fresh one, written
    owner-only to <session_dir>/token (where drivers and JobSubmissionClient find it)."""
    token = os.environ.get("EMBER_CLUSTER_TOKEN") or secrets.token_urlsafe(32)
    fd = os.open(os.path.join(session_dir, "token"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def record_path(session_dir: str) -> str:
    """Where the session's own record is (a job's driver is pointed at it)."""
    return os.path.join(session_dir, "cluster.json")


def publish(manager: NodeManager, session_dir: str, token: str,
            dashboard_url: str | None) -> str:
    """Accept drivers on `<session_dir>/node.sock` and write the session's record; also
    at the machine's cluster record if no running cluster holds it. Returns the record."""
    sock_path = os.path.join(session_dir, "node.sock")
    manager.listen(sock_path, token)
    info = {"gcs_address": None, "address": None, "node_socket": sock_path,
            "token_file": os.path.join(session_dir, "token"), "head_pid": os.getpid(),
            "session_dir": session_dir, "node_id": manager.node_id,
            "dashboard_url": dashboard_url, "embedded": True}
    record = record_path(session_dir)
    _write(record, info)
    if _held_by_another() is None:
        os.makedirs(os.path.dirname(cluster_file()), exist_ok=True)
        _write(cluster_file(), info)
    return record


def withdraw(session_dir: str) -> None:
    """Remove the machine's cluster record if it is this session's (at shutdown)."""
    try:
        with open(cluster_file()) as f:
            mine = json.load(f).get("session_dir") == session_dir
        if mine:
            os.remove(cluster_file())
    except (OSError, ValueError):
        pass


def _held_by_another() -> dict | None:
    """The machine's cluster record, if a live process other than this one holds it."""
    try:
        with open(cluster_file()) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    pid = int(info.get("head_pid") or 0)
    return info if pid != os.getpid() and procutil._alive(pid) else None


def _write(path: str, info: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)
