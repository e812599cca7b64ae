"""Logs over HTTP: `/api/v0/logs` lists files, `/api/v0/logs/file` reads one (or its tail)."""

from __future__ import annotations

import os
from collections import deque

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ember.dashboard.backend import Backend
from ember.dashboard.routes_state import envelope

MAX_READ_BYTES = 64 << 20


def read_log(path: str, lines: int | None) -> bytes:
    """The file's last `lines` lines (all of it with None), at most 64 MiB from its end."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - MAX_READ_BYTES))
        if lines is None:
            return f.read()
        return b"".join(deque(f, maxlen=lines))


def routes(backend: Backend) -> list[Route]:
    def list_logs(request: Request) -> Response:
        node = backend.manager.node_id
        files = [{"filename": name, "size": os.path.getsize(path)}
                 for name, path in backend.log_files()]
        return JSONResponse(envelope({node: files}))

    def get_file(request: Request) -> Response:
        name = request.query_params.get("filename", "")
        lines_raw = request.query_params.get("lines")
        try:
            lines = None if lines_raw is None else int(lines_raw)
        except ValueError:
            return JSONResponse({"error": "lines must be an integer"}, status_code=400)
        if lines is not None and lines < 0:
            lines = None
        path = dict(backend.log_files()).get(name)  # only listed names, never a path
        if path is None:
            return JSONResponse({"error": f"no log file {name!r}"}, status_code=404)
        return Response(read_log(path, lines), media_type="text/plain; charset=utf-8")

    return [Route("/api/v0/logs", list_logs), Route("/api/v0/logs/file", get_file)]


__all__ = ["read_log", "routes"]
