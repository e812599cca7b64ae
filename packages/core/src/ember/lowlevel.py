"""The low-level surface that ember's libraries may use besides the Ray-compatible API.

Nothing here is part of Ray's API; it exists so that libraries need not reach into
ember's internals.
"""

from __future__ import annotations

from ember._core.buffers import bytes_from_buffer, join_bytes

__all__ = ["bytes_from_buffer", "join_bytes"]
