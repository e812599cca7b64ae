"""A replica's request metrics, under Ray Serve's names (exported with a `ray_` prefix on
the dashboard's /metrics): requests, errors and processing latency per deployment."""

from __future__ import annotations

import time

from ember.util.metrics import Counter, Histogram

__all__ = ["ReplicaMetrics"]

_TAGS = ("deployment", "replica", "route", "application")
# Ray Serve's default latency buckets (ms).
_LATENCY_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000]


class ReplicaMetrics:
    """Records each request a replica runs; one per replica process."""

    def __init__(self, app: str, deployment: str, replica_id: str) -> None:
        self._base = {"deployment": deployment, "replica": replica_id, "application": app}
        self._requests = Counter("serve_deployment_request_counter",
                                 "The number of queries that have been processed in this "
                                 "replica.", tag_keys=_TAGS)
        self._errors = Counter("serve_deployment_error_counter",
                               "The number of exceptions that have occurred in this "
                               "replica.", tag_keys=_TAGS)
        self._latency = Histogram("serve_deployment_processing_latency_ms",
                                  "The latency for queries to be processed.",
                                  boundaries=_LATENCY_MS, tag_keys=_TAGS)

    def record(self, route: str, started: float, failed: bool) -> None:
        """One request on `route` that began at `started` (time.perf_counter())."""
        tags = {**self._base, "route": route or ""}
        self._requests.inc(1.0, tags)
        if failed:
            self._errors.inc(1.0, tags)
        self._latency.observe((time.perf_counter() - started) * 1000.0, tags)
