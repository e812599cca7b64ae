"""Cluster tokens: every gRPC call carries `authorization: Bearer <token>` or is refused.

Ray's unauthenticated job API (CVE-2023-48022) is the failure this avoids.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from typing import Any

import grpc

from ember._core.common import limits

HEADER = "authorization"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token(path: str, token: str) -> None:
    """Write the token readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)


def message_options() -> list[tuple[str, int]]:
    """gRPC options bounding every message a server or client receives (and sends)."""
    n = limits.grpc_max_message_bytes()
    return [("grpc.max_send_message_length", n), ("grpc.max_receive_message_length", n)]


def metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((HEADER, f"Bearer {token}"),)


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) every call whose bearer token is missing or wrong."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "missing or wrong cluster token (see `ember start --head` output)")

        self._deny_unary = grpc.unary_unary_rpc_method_handler(deny)
        self._deny_stream = grpc.unary_stream_rpc_method_handler(deny)

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: Any) -> Any:
        for key, value in handler_call_details.invocation_metadata or ():
            if key == HEADER:
                got = value.encode() if isinstance(value, str) else value
                if hmac.compare_digest(got, self._expected):
                    return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is not None and handler.response_streaming:
            return self._deny_stream
        return self._deny_unary
