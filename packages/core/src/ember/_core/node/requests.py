"""The node's request protocol: who calls, and how a handler replies later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

# The caller id of the driver of an embedded cluster (it calls in-process, no socket).
DRIVER: Final = 0
# Returned by a request handler that replies later, through its `reply` callback.
DEFERRED: Final[Any] = object()
# How a handler answers: reply(True, value) or reply(False, exception).
Reply = Callable[[bool, Any], None]

__all__ = ["DEFERRED", "DRIVER", "Reply"]
