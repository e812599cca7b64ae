"""@serve.multiplexed: many models per deployment, a few loaded per replica (LRU).

The decorated `async def get_model(self, model_id)` loads a model; calls with a model id
already loaded return it at once, and past `max_num_models_per_replica` the least
recently used model is dropped. Replicas report the ids they hold so that routers send
a model's requests where it is already loaded.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["multiplexed"]

_reporter: Callable[[list[str]], None] | None = None


def set_model_ids_reporter(fn: Callable[[list[str]], None] | None) -> None:
    """Called by the replica: where to report the model ids it holds."""
    global _reporter
    _reporter = fn


class _ModelCache:
    def __init__(self, fn: Callable, owner: Any, limit: int) -> None:
        self.fn = fn
        self.owner = owner
        self.limit = limit
        self.models: OrderedDict[str, Any] = OrderedDict()
        self.loading: dict[str, asyncio.Future] = {}

    async def get(self, model_id: str) -> Any:
        if not isinstance(model_id, str) or not model_id:
            raise TypeError(f"The model id must be a non-empty string, got {model_id!r}.")
        if model_id in self.models:
            self.models.move_to_end(model_id)
            return self.models[model_id]
        pending = self.loading.get(model_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut = asyncio.get_running_loop().create_future()
        self.loading[model_id] = fut
        try:
            while self.limit > 0 and len(self.models) >= self.limit:
                _, old = self.models.popitem(last=False)
                await _unload(old)
            args = (self.owner, model_id) if self.owner is not None else (model_id,)
            model = await self.fn(*args)
            self.models[model_id] = model
            fut.set_result(model)
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self.loading[model_id]
            if _reporter is not None:
                _reporter(list(self.models))
        return model


async def _unload(model: Any) -> None:
    """Ray calls a model's __del__ when evicting it; so do we."""
    d = getattr(model, "__del__", None)
    if d is not None:
        result = d()
        if inspect.isawaitable(result):
            await result


def multiplexed(func: Callable | None = None, *, max_num_models_per_replica: int = 3) -> Any:
    """Wrap an `async def` model loader with a per-replica LRU cache of models."""
    if isinstance(max_num_models_per_replica, bool) or not isinstance(
            max_num_models_per_replica, int) or (max_num_models_per_replica < 1
                                                 and max_num_models_per_replica != -1):
        raise ValueError("max_num_models_per_replica must be an int >= 1 or -1 (no limit).")

    def decorator(fn: Callable) -> Callable:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError("@serve.multiplexed can only decorate 'async def' functions.")
        params = list(inspect.signature(fn).parameters)
        is_method = bool(params) and params[0] == "self"
        attr = f"__ember_serve_models_{fn.__name__}"
        free: dict[str, _ModelCache] = {}

        @functools.wraps(fn)
        async def wrapper(*args: Any) -> Any:
            if is_method:
                owner, model_id = args[0], args[1]
                cache = owner.__dict__.get(attr)
                if cache is None:
                    cache = owner.__dict__[attr] = _ModelCache(fn, owner,
                                                               max_num_models_per_replica)
            else:
                model_id = args[0]
                cache = free.get("cache")
                if cache is None:
                    cache = free["cache"] = _ModelCache(fn, None, max_num_models_per_replica)
            return await cache.get(model_id)

        return wrapper

    if func is not None:
        return decorator(func)
    return decorator
