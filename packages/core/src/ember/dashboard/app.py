"""The dashboard's ASGI app: the token gate around every route area."""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ember.dashboard import (
    routes_jobs,
    routes_logs,
    routes_metrics,
    routes_serve,
    routes_state,
)
from ember.dashboard.auth import TokenGate
from ember.dashboard.backend import Backend

# Bodies are job requests and working_dir packages (Ray caps packages at 500 MiB).
DEFAULT_MAX_BODY = 512 << 20
# The browser UI's static files (packaged in static/), served open under /ui/.
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml"}


RAY_API_VERSION = "2.60.0"


def max_body_bytes() -> int:
    return int(os.environ.get("EMBER_DASHBOARD_MAX_BODY_BYTES", DEFAULT_MAX_BODY))


def build_app(backend: Backend, token: str) -> Any:
    """The app, token-gated; only `/` (the UI, which asks for the token) and its static
    assets under `/ui/` are open."""
    static = resources.files("ember.dashboard").joinpath("static")
    page = static.joinpath("index.html").read_bytes()
    # The UI's assets, read once: only these names are served, never a path.
    assets = {f.name: f.read_bytes() for f in static.iterdir()
              if f.name.endswith(tuple(ASSET_TYPES))}

    def index(request: Request) -> Response:
        return HTMLResponse(page)

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        body = assets.get(name)
        if body is None:
            return JSONResponse({"error": f"no asset {name!r}"}, status_code=404)
        media = ASSET_TYPES[name[name.rindex("."):]]
        return Response(body, media_type=media, headers={"cache-control": "no-cache"})

    def version(request: Request) -> Response:
        import ember

        # ray_version: the Ray release whose APIs this dashboard speaks, which Ray's own
        # SDK (ray.job_submission) checks before it talks to a cluster.
        return JSONResponse({"version": "4", "ray_version": RAY_API_VERSION,
                             "ember_version": ember.__version__, "ray_commit": ""})

    routes = [Route("/", index), Route("/ui/{name}", asset), Route("/api/version", version),
              *routes_jobs.routes(backend), *routes_logs.routes(backend),
              *routes_state.routes(backend), *routes_metrics.routes(backend),
              *routes_serve.routes(backend)]
    app = Starlette(routes=routes)
    return TokenGate(app, token, max_body_bytes())


__all__ = ["ASSET_TYPES", "DEFAULT_MAX_BODY", "RAY_API_VERSION", "build_app", "max_body_bytes"]
