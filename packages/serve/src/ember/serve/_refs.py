"""Awaiting ObjectRefs safely from asyncio code that may be cancelled.

`await ref` hands asyncio the concurrent future of `ref.future()`; cancelling the
awaiting task cancels that future, and ember then fails to set its result when the value
arrives. Serve cancels awaits routinely (timeouts, shutdown), so it awaits a separate
future that only copies the result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any


def ref_future(ref: Any) -> concurrent.futures.Future:
    """A future with `ref`'s value that may be cancelled without harm."""
    outer: concurrent.futures.Future = concurrent.futures.Future()

    def copy(inner: concurrent.futures.Future) -> None:
        if outer.done():
            return
        try:
            exc = inner.exception()
            if exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(inner.result())
        except (concurrent.futures.InvalidStateError, concurrent.futures.CancelledError):
            pass  # the waiter gave up

    ref.future().add_done_callback(copy)
    return outer


async def await_ref(ref: Any) -> Any:
    """`await ref`, but safe to cancel."""
    return await asyncio.wrap_future(ref_future(ref))
