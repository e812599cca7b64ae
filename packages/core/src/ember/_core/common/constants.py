"""Constants every process of the runtime agrees on."""

INLINE_MAX = 100 * 1024  # values up to this size travel inline, not through the store
STREAMING = -1  # num_returns="streaming"
SYSTEM_GROUP = "_ray_system"  # the concurrency group of the runtime's own actor calls

__all__ = ["INLINE_MAX", "STREAMING", "SYSTEM_GROUP"]
