"""The low-level surface that ember's libraries may use besides the Ray-compatible API.

Nothing here is part of Ray's API; it exists so that libraries need not reach into
ember's internals.
"""

from __future__ import annotations

from ember._core.buffers import bytes_from_buffer, join_bytes
from ember._core.handshake import AuthenticationFailed
from ember._core.handshake import Gate as HandshakeGate
from ember._core.handshake import accept as handshake_accept
from ember._core.handshake import connect as handshake_connect

__all__ = ["AuthenticationFailed", "HandshakeGate", "bytes_from_buffer", "handshake_accept",
           "handshake_connect", "join_bytes"]
