"""`/api/serve/applications/` (GET): Serve's applications as Ray's dashboard shows them,
each with its status, route prefix and its deployments' configs and replicas.

They are asked of Serve's controller actor, through ember's public API: the dashboard's
process is a driver of the cluster (an embedded cluster's dashboard runs in its driver;
a head's attaches on first use, in the namespace Ray's dashboard uses). Serve not
running answers an empty `applications`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ember.dashboard.backend import Backend

SERVE_NAMESPACE = "serve"
CONTROLLER_NAME = "SERVE_CONTROLLER_ACTOR"
_TIMEOUT_S = 10.0


def serve_details(backend: Backend) -> dict[str, Any]:
    """What the Serve controller reports (get_details), or no applications."""
    import ember

    assert backend.attach is not None
    backend.attach()
    try:
        controller = ember.get_actor(CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        return {"applications": {}, "proxies": {}, "http_options": None}
    return ember.get(controller.get_details.remote(), timeout=_TIMEOUT_S)


def routes(backend: Backend) -> list[Route]:
    async def applications(request: Request) -> Response:
        if backend.attach is None:
            return JSONResponse({"error": "this node's server has no Serve API: ask the "
                                          "head's dashboard"}, status_code=503)
        try:
            details = await asyncio.to_thread(serve_details, backend)
        except Exception as e:  # noqa: BLE001 - the controller died, timed out, ...
            return JSONResponse({"error": f"Serve's controller did not answer: {e}"},
                                status_code=503)
        # Deployment configs may hold values JSON has no type for: shown as their repr.
        return Response(json.dumps(details, default=repr), media_type="application/json")

    return [Route("/api/serve/applications/", applications, methods=["GET"])]


__all__ = ["CONTROLLER_NAME", "SERVE_NAMESPACE", "routes", "serve_details"]
