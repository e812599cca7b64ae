"""Names and defaults shared by the Serve modules (no behaviour lives here)."""

from __future__ import annotations

#: Namespace of every actor Serve starts (controller, proxy, replicas), as in Ray.
SERVE_NAMESPACE = "serve"
CONTROLLER_NAME = "SERVE_CONTROLLER_ACTOR"
PROXY_NAME = "SERVE_PROXY_ACTOR"
REPLICA_NAME_PREFIX = "SERVE_REPLICA"

#: The logger Serve's components log on: Ray's documented name, so that logging set up
#: for a Ray Serve application (handlers, levels) applies unchanged.
SERVE_LOGGER_NAME = "ray.serve"

DEFAULT_APP_NAME = "default"
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8000

#: Header carrying the multiplexed model id of an HTTP request.
MULTIPLEXED_MODEL_ID_HEADER = "serve_multiplexed_model_id"
#: Response headers that open a session pinned to the replica that answered.
SESSION_HEADERS = ("mcp-session-id",)

#: How long a long-poll for routing changes waits before returning unchanged.
LONG_POLL_TIMEOUT_S = 30.0
#: How long the controller waits for handles to see a replica leave before draining it.
ROUTING_ACK_TIMEOUT_S = 3.0
#: Replica constructor failures in a row after which a deployment is DEPLOY_FAILED.
MAX_CONSECUTIVE_START_FAILURES = 3
#: The controller's reconcile period when nothing wakes it earlier.
CONTROL_LOOP_PERIOD_S = 0.1
#: How often a replica samples its ongoing requests for autoscaling.
METRICS_SAMPLE_PERIOD_S = 0.1
#: How often a handle reports the requests it holds queued.
HANDLE_METRICS_PERIOD_S = 0.25

# Request bodies larger than this get 413 (HTTPOptions.max_request_body_bytes).
DEFAULT_MAX_REQUEST_BODY_BYTES = 256 * 1024 * 1024
