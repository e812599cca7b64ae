"""Turning object payloads into values and back, the same in drivers and workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember._core.common import serialization
from ember._core.common.constants import INLINE_MAX

# A payload is ("i", bytes) for a value carried inline, or ("s", offset, size) for a value
# in the node's shared-memory store, pinned for the reader until its views are gone.


def decode(payload: tuple, region: Any, release: Callable[[], None] | None) -> tuple[Any, bool]:
    """Return (value, is_error). Store-backed values are zero-copy views of the region."""
    if payload[0] == "i":
        return serialization.deserialize(payload[1])
    view = region.view(payload[1], payload[2], release)
    return serialization.deserialize(view)


def raise_if_error(value: Any, is_error: bool) -> Any:
    if not is_error:
        return value
    from ember.exceptions import RayTaskError

    if isinstance(value, RayTaskError):
        raise value.as_instanceof_cause()
    raise value


def is_small(ser: serialization.Serialized) -> bool:
    return ser.size <= INLINE_MAX
