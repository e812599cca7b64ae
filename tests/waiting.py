"""Polling for a condition in tests (never a fixed sleep): the one helper every test
module uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], what: str = "the condition",
               timeout: float = 30.0, interval: float = 0.05) -> Any:
    """The predicate's first truthy value; AssertionError naming `what` after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")
