"""The Serve admin API behind `ember serve deploy/status/shutdown`.

ember clusters live inside the process that started them, so the process running
`ember serve start` (or `ember serve run`) hosts the cluster and serves this small REST
API, with Ray's paths, on 127.0.0.1:8265 by default:

    GET    /api/serve/applications/   status of the proxies and applications
    PUT    /api/serve/applications/   deploy a config (Ray's format, as JSON)
    DELETE /api/serve/applications/   shut Serve down (the host process then exits)

Every request must carry the host's token (`Authorization: Bearer ...`): deploying
means running code. The host writes its address and token to a state file readable only
by its user (EMBER_SERVE_STATE, default ~/.ember/serve.json); the CLI reads it there, or
takes EMBER_SERVE_ADDRESS and EMBER_SERVE_TOKEN.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

DEFAULT_ADMIN_PORT = 8265
API_PATH = "/api/serve/applications/"
# A deploy config is a few kilobytes; anything near this is refused unread (413).
MAX_CONFIG_BYTES = 8 * 1024 * 1024


def state_path() -> Path:
    env = os.environ.get("EMBER_SERVE_STATE")
    return Path(env) if env else Path.home() / ".ember" / "serve.json"


def write_state(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def read_state() -> dict:
    try:
        return json.loads(state_path().read_text())
    except (OSError, ValueError):
        return {}


class AdminServer:
    """The admin API of a host process, served by uvicorn on a thread of its own."""

    def __init__(self, host: str, port: int, on_shutdown: Any, app_dir: str | None) -> None:
        self.token = secrets.token_urlsafe(32)
        self._host = host
        self._port = port
        self._on_shutdown = on_shutdown
        self._app_dir = app_dir
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.address = ""

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def handle(request: Request) -> JSONResponse:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return JSONResponse({"error": "A valid admin token is required."}, 401)
            if request.method == "GET":
                return JSONResponse(await asyncio.to_thread(status_data))
            if request.method == "PUT":
                length = request.headers.get("content-length", "")
                if not length.isdigit() or int(length) > MAX_CONFIG_BYTES:
                    return JSONResponse({"error": "A config needs a Content-Length of at "
                                                  f"most {MAX_CONFIG_BYTES} bytes."}, 413)
                try:
                    config = await request.json()
                    from ember.serve._declarative import deploy_config

                    await asyncio.to_thread(deploy_config, config, self._app_dir)
                except Exception as e:  # noqa: BLE001 - the client prints it
                    return JSONResponse({"error": f"{type(e).__name__}: {e}"}, 400)
                return JSONResponse({"ok": True})
            self._on_shutdown()
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route(API_PATH, handle, methods=["GET", "PUT", "DELETE"])])

    def start(self) -> str:
        import socket

        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False,
                                lifespan="off", log_config=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True, name="ember-serve-admin")
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"The Serve admin API could not start on port {port}.")
            threading.Event().wait(0.01)
        self.address = f"http://{self._host}:{port}"
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)


def status_data() -> dict:
    """What GET returns: `serve.status()` as plain data, plus the HTTP address."""
    from ember.serve import api

    data = api.status().to_dict()
    controller = api._controller_or_none()
    if controller is not None:
        import ember

        data["http_address"] = ember.get(controller.get_status.remote()).get("proxy_address")
    return data


# -- the client side (the CLI) ------------------------------------------------------------


def resolve(address: str | None) -> tuple[str, str | None]:
    """(address, token) from the flag, the environment or the host's state file."""
    state = read_state()
    addr = address or os.environ.get("EMBER_SERVE_ADDRESS") or state.get("address") or \
        f"http://127.0.0.1:{DEFAULT_ADMIN_PORT}"
    token = os.environ.get("EMBER_SERVE_TOKEN")
    if token is None and state.get("address", "").rstrip("/") == addr.rstrip("/"):
        token = state.get("token")
    return addr.rstrip("/"), token


def request(method: str, address: str | None, body: Any = None, timeout: float = 600) -> dict:
    """One call to a host's admin API (stdlib only, so the CLI starts fast)."""
    import urllib.error
    import urllib.request

    addr, token = resolve(address)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(addr + API_PATH, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            message = json.loads(raw).get("error")
        except ValueError:
            message = None
        raise RuntimeError(message or f"HTTP {e.code}") from None
    except (urllib.error.URLError, ConnectionError):
        raise ConnectionError(
            f"No ember Serve host answers at {addr}. Start one with `ember serve start` or "
            "`ember serve run`, or pass --address.") from None
