"""The low-level surface that ember's libraries may use besides the Ray-compatible API.

Nothing here is part of Ray's API; it exists so that libraries need not reach into
ember's internals.
"""

from __future__ import annotations

from ember._core.common.buffers import bytes_from_buffer, join_bytes
from ember._core.common.handshake import AuthenticationFailed
from ember._core.common.handshake import Gate as HandshakeGate
from ember._core.common.handshake import accept as handshake_accept
from ember._core.common.handshake import connect as handshake_connect

__all__ = ["AuthenticationFailed", "HandshakeGate", "bytes_from_buffer", "handshake_accept",
           "handshake_connect", "join_bytes", "object_store_stats"]


def object_store_stats() -> dict[str, int]:
    """This node's object store counters: capacity, used_bytes, num_objects, num_pinned,
    num_spilled, spilled_bytes_current, spilled_total, spilled_bytes_total,
    restored_total, restored_bytes_total, evicted_total, evicted_bytes_total."""
    from ember._core.caller import context

    return dict(context.require_client().call("metrics")["store"])
