"""Limits on what a peer may make a process allocate, each settable by an environment
variable (read once, when first asked) and checked before any allocation."""

from __future__ import annotations

import os
from functools import cache

__all__ = ["dead_actors_kept", "grpc_max_message_bytes", "handshake_timeout_s",
           "max_frame_bytes"]


def _env_number(name: str, default: float, kind: type = int) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}; unset it or give "
                         f"a positive number (default {default}).") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive (default {default}).")
    return value


@cache
def max_frame_bytes() -> int:
    """Largest frame accepted on a node's sockets (EMBER_MAX_FRAME_BYTES, default 512 MiB).

    Large values travel through the object store, never inside a frame, so a frame near
    this size means a misbehaving peer: its connection is dropped before anything is
    allocated for it.
    """
    return int(_env_number("EMBER_MAX_FRAME_BYTES", 512 * 1024 * 1024))


@cache
def grpc_max_message_bytes() -> int:
    """Largest gRPC message a control store or node service receives
    (EMBER_GRPC_MAX_MESSAGE_BYTES, default 256 MiB)."""
    return int(_env_number("EMBER_GRPC_MAX_MESSAGE_BYTES", 256 * 1024 * 1024))


@cache
def handshake_timeout_s() -> float:
    """Seconds a connecting peer has to complete the token handshake
    (EMBER_HANDSHAKE_TIMEOUT_S, default 5)."""
    return float(_env_number("EMBER_HANDSHAKE_TIMEOUT_S", 5.0, float))


def dead_actors_kept() -> int:
    """How many dead actors the actor records keep, newest first: the state API lists
    them and the control store holds their rows (Ray's
    RAY_maximum_gcs_destroyed_actor_cached_count, default 100000). Read when a node or
    control store starts, so a program may set it before `init()`."""
    raw = os.environ.get("RAY_maximum_gcs_destroyed_actor_cached_count", "")
    try:
        return max(0, int(raw)) if raw else 100_000
    except ValueError:
        raise ValueError(f"RAY_maximum_gcs_destroyed_actor_cached_count={raw!r} is not an "
                         "int; unset it or give a count (default 100000).") from None
