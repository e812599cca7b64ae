"""Stands for `ray._common.utils` in Ray's test fixtures."""

from __future__ import annotations

import os

from _ray_compat.internal import module_getattr


def reset_ray_address() -> None:
    os.environ.pop("RAY_ADDRESS", None)


def get_or_create_event_loop():
    """The running event loop, or a new one set as current (Ray's helper)."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


__getattr__ = module_getattr("ray._common.utils")
