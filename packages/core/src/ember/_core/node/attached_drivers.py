"""Drivers that attach to a running node (`ember.init(address=...)` on a cluster): the
node's Unix socket, the token handshake, and the welcome that hands a driver its settings.

Thread-safety: `listen` and `close` are called by the node's owner; `accept` on the IO
thread; each connection is authenticated on a thread of its own, so that a slow or
hostile peer never holds up the node.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import TYPE_CHECKING

from ember._core.common import framing, handshake, limits, messages
from ember._core.common.unix_sockets import bind_unix
from ember._core.node.pool import WorkerHandle

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager


class AttachedDrivers:
    """Accepts drivers on the node's socket once they present the cluster token."""

    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self._listener: socket.socket | None = None
        self._token = b""
        self._gate = handshake.Gate()

    def listen(self, path: str, token: str) -> socket.socket:
        """Bind the owner-only socket at `path`; the node watches the returned socket."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        bind_unix(sock, path)
        os.chmod(path, 0o600)
        sock.listen(64)
        sock.setblocking(False)
        self._listener = sock
        self._token = token.encode()
        return sock

    def accept(self) -> None:
        """Accept one connection (on the IO thread) and authenticate it elsewhere."""
        if self._listener is None:
            return
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        threading.Thread(target=self._admit, args=(sock,), daemon=True,
                         name="ember-admit").start()

    def _admit(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        if not self._gate.enter():
            sock.close()
            return
        try:
            ok = handshake.accept(sock, self._token, limits.handshake_timeout_s())
        finally:
            self._gate.leave()
        if not ok:
            sock.close()
            return
        # Authenticated: from here on the peer speaks the node's framed protocol.
        node = self.node
        sock.settimeout(limits.handshake_timeout_s())
        conn = framing.Connection(sock)
        try:
            hello = conn.recv_blocking()[0]
            if not isinstance(hello, messages.Attach):
                conn.close()
                return
            pid, namespace = int(hello.pid), str(hello.namespace)
            with node.lock:
                wid = next(node.wids)
            socket.send_fds(sock, [b"F"], [node.store.fd])
            job_id = os.urandom(4)
            namespace = namespace or f"anon-{os.urandom(4).hex()}"
            conn.send(messages.Welcome({
                "node_id": node.node_id, "job_id": job_id, "wid": wid,
                "namespace": namespace,
                "session_dir": node.session_dir, "totals": dict(node.total_resources),
                "capacity": node.store.capacity, "cluster": node.link is not None,
                "labels": dict(node.labels), "node_ip": node.node_ip}))
        except (OSError, ValueError, TypeError, IndexError, framing.ConnectionClosed):
            conn.close()
            return
        sock.settimeout(None)
        sock.setblocking(False)
        w = WorkerHandle(wid, pid, conn, "")
        w.state = "driver"
        if not node.add_driver(w, job_id, namespace):
            conn.close()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()


__all__ = ["AttachedDrivers"]
