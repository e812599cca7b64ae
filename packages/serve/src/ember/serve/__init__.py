"""ember Serve: scalable model and application serving, with Ray Serve's API.

    from ember import serve

    @serve.deployment(num_replicas=2)
    class Hello:
        def __call__(self, request):
            return "hello"

    serve.run(Hello.bind(), route_prefix="/hello")   # HTTP on 127.0.0.1:8000
    serve.get_app_handle("default").remote(None).result()

Subpackages: `ember.serve.mcp` (MCP servers over Streamable HTTP, stdio bridges and
gateways); `ember.serve.llm` is reserved for LLM serving.
"""

import sys
from typing import Any

from ember.serve._deployment_actors import get_deployment_actor
from ember.serve._ingress import ingress
from ember.serve.api import (
    delete,
    get_app_handle,
    get_deployment_handle,
    run,
    shutdown,
    start,
    status,
)
from ember.serve.batching import batch
from ember.serve.config import AutoscalingConfig, HTTPOptions, ProxyLocation
from ember.serve.context import get_multiplexed_model_id, get_replica_context
from ember.serve.deployment import Application, Deployment, deployment
from ember.serve.handle import DeploymentHandle, DeploymentResponse, DeploymentResponseGenerator
from ember.serve.multiplex import multiplexed

__all__ = [
    "Application",
    "AutoscalingConfig",
    "Deployment",
    "DeploymentHandle",
    "DeploymentResponse",
    "DeploymentResponseGenerator",
    "HTTPOptions",
    "ProxyLocation",
    "batch",
    "delete",
    "deployment",
    "get_app_handle",
    "get_deployment_actor",
    "get_deployment_handle",
    "get_multiplexed_model_id",
    "get_replica_context",
    "ingress",
    "multiplexed",
    "run",
    "shutdown",
    "start",
    "status",
]

_LAZY = {"mcp", "llm"}

if "starlette" in sys.modules:
    # Ray's Serve loads starlette.requests, and its examples annotate with
    # `starlette.requests.Request` after a bare `import starlette`. Loaded only when the
    # program has imported starlette already, so `import ember.serve` stays light.
    import starlette.requests  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"ember.serve.{name}")
    raise AttributeError(f"module 'ember.serve' has no attribute {name!r}")
