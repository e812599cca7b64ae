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


def error_to_raise(error: BaseException) -> BaseException:
    """What the caller sees for a stored error: a task's error as an instance of its cause."""
    from ember.exceptions import RayTaskError

    return error.as_instanceof_cause() if isinstance(error, RayTaskError) else error


def raise_if_error(value: Any, is_error: bool) -> Any:
    """`value`, or raise it when it is an error (a task's, as an instance of its cause)."""
    if not is_error:
        return value
    try:
        raise error_to_raise(value)
    finally:
        # This frame is in the error's traceback: holding the error here would make a
        # cycle that keeps every frame of the traceback, and the ObjectRefs in their
        # locals, alive until the cyclic collector happens to run.
        value = None


def values_or_raise(results: list[tuple[Any, bool]]) -> list[Any]:
    """The values of (value, is_error) pairs, or raise the first error (see
    raise_if_error); the pairs are dropped first, so no frame of the traceback holds it."""
    out = []
    try:
        for pair in results:
            out.append(raise_if_error(*pair))
    finally:
        results = pair = None  # type: ignore[assignment]
    return out


def is_small(ser: serialization.Serialized) -> bool:
    return ser.size <= INLINE_MAX
