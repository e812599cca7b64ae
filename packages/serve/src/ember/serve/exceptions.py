"""Serve's errors.

    RayServeException
     ├── BackPressureError          a queue was full (max_queued_requests); HTTP 503
     ├── DeploymentUnavailableError the deployment has no way to take the request now
     └── RequestCancelledError      the request was cancelled (timeout or caller)
"""

from __future__ import annotations

__all__ = [
    "BackPressureError",
    "DeploymentUnavailableError",
    "RayServeException",
    "RequestCancelledError",
]


class RayServeException(Exception):
    """Base class of Serve's errors (the name ports from Ray)."""


class BackPressureError(RayServeException):
    """More than max_queued_requests requests were already waiting for a replica."""

    def __init__(self, *, num_queued_requests: int = 0, max_queued_requests: int = 0) -> None:
        self.num_queued_requests = num_queued_requests
        self.max_queued_requests = max_queued_requests
        super().__init__(
            f"Request dropped due to backpressure (num_queued_requests={num_queued_requests}, "
            f"max_queued_requests={max_queued_requests}).")

    def __reduce__(self) -> tuple:
        return (_backpressure, (self.num_queued_requests, self.max_queued_requests))

    @property
    def message(self) -> str:
        return str(self)


def _backpressure(queued: int, limit: int) -> BackPressureError:
    return BackPressureError(num_queued_requests=queued, max_queued_requests=limit)


class DeploymentUnavailableError(RayServeException):
    """The deployment cannot take requests (it failed to deploy or was deleted)."""


class RequestCancelledError(RayServeException):
    """The request was cancelled before it finished."""
