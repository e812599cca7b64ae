"""The head's HTTP server: bound at once, loaded on its first connection.

`ember.init()` and `ember start --head` create a DashboardServer. It binds its socket
right away (so the URL is known and the port is held) and waits on a small thread; only
when the first connection arrives does that thread import starlette and uvicorn and serve
the app on the same socket. A cluster nobody browses pays one socket and one idle thread:
the driver's cold start and memory stay as they were.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
from typing import Any

DEFAULT_PORT = 8265


def dependencies_installed() -> bool:
    """True if the dashboard's optional dependencies (`ember[default]`) are importable."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None
               for m in ("starlette", "uvicorn", "prometheus_client"))


def _bind(host: str, port: int | None) -> socket.socket:
    """Bind `port` (8265 by default). A busy default port falls back to a free one, as a
    second local cluster must still start; a port asked for explicitly must be free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say so, and with Nagle on every keep-alive response waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, DEFAULT_PORT if port is None else port))
    except OSError as e:
        if port is not None or e.errno != errno.EADDRINUSE:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _ws_protocol() -> str:
    """uvicorn's WebSocket implementation: `websockets` (in ember[default]) if present."""
    import importlib.util

    return "websockets-sansio" if importlib.util.find_spec("websockets") else "auto"


class DashboardServer:
    """Serves the dashboard app for `backend` on host:port, token-protected."""

    def __init__(self, backend: Any, token: str, host: str = "127.0.0.1",
                 port: int | None = None) -> None:
        self.backend = backend
        self.token = token
        self.sock = _bind(host, port)
        bound_host, self.port = self.sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{self.port}"
        self._stop_r, self._stop_w = os.pipe()
        self._server: Any = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ember-dashboard", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = select.poll()  # not select(): fd numbers may pass 1024 in a busy process
        poller.register(self.sock, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        ready = {fd for fd, _ in poller.poll()}
        if self._stop_r in ready:
            return
        import asyncio

        import uvicorn

        from ember.dashboard.app import build_app

        app = build_app(self.backend, self.token)
        # h11: it bounds the request line and headers (64 KiB); httptools does not.
        config = uvicorn.Config(app, http="h11", log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1,
                                h11_max_incomplete_event_size=64 * 1024,
                                # WebSockets (the log tail) only send: incoming messages
                                # are bounded small, and none is decompressed.
                                ws=_ws_protocol(), ws_max_size=64 * 1024,
                                ws_per_message_deflate=False)
        server = uvicorn.Server(config)
        self._server = server
        if self._stopping:
            return
        asyncio.run(server.serve(sockets=[self.sock]))

    def stop(self) -> None:
        """Stop serving and release the port (waits a second or so for open requests)."""
        self._stopping = True
        os.write(self._stop_w, b"x")
        if self._server is not None:
            self._server.should_exit = True
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        self.sock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
        stop_backend = getattr(self.backend, "close", None)
        if stop_backend is not None:
            stop_backend()


__all__ = ["DEFAULT_PORT", "DashboardServer", "dependencies_installed"]
