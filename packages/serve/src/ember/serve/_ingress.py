"""@serve.ingress: serve a FastAPI (or any ASGI) app from a deployment class.

Routes declared on methods of the class (`@app.get("/") def root(self): ...`) are bound
to the replica's instance, as Ray's class-based views are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

ASGI_ATTR = "__ember_serve_asgi_app__"

__all__ = ["ASGI_ATTR", "GlobalRef", "InstanceApp", "asgi_app_for", "ingress"]


def ingress(app: Any) -> Callable[[type], type]:
    """Decorate a deployment class so that it answers HTTP with the ASGI `app`.

    `app` is a FastAPI/Starlette app or a zero-argument function returning one (built
    in the replica: handy for apps that do not pickle).
    """
    def decorator(cls: type) -> type:
        if not inspect.isclass(cls):
            raise ValueError("@serve.ingress must decorate a class.")
        ref = _global_ref(app, cls.__module__)
        if ref is None:
            # The app travels with the class (defined in __main__ or in a function): it is
            # pickled in the same stream, so its routes keep pointing at the class's own
            # methods; Starlette's State needs a reducer for that.
            _register_state_reducer()
        setattr(cls, ASGI_ATTR, ref or app)
        return cls

    return decorator


def asgi_app_for(cls: type, instance: Any) -> Any:
    """The ASGI app a replica of `cls` serves, or None for a plain deployment."""
    app = getattr(cls, ASGI_ATTR, None)
    if app is None:
        return None
    if isinstance(app, GlobalRef):
        app = app.resolve()
    elif isinstance(app, InstanceApp):
        return getattr(instance, app.attr)
    if not _is_asgi_app(app) and callable(app):
        app = app()
    _bind_class_routes(app, cls)
    return app


class InstanceApp:
    """Marks a deployment class whose instances carry their ASGI app in `attr`."""

    def __init__(self, attr: str) -> None:
        self.attr = attr


class GlobalRef:
    """A module-level object that travels by name, with a copy for where it cannot.

    A replica imports the object from its module when it can (same object as the class
    sees, nothing big to ship); on a node that lacks the module it unpickles the copy.
    """

    def __init__(self, module: str, name: str, fallback: bytes | None = None) -> None:
        self.module = module
        self.name = name
        self._fallback = fallback

    def resolve(self) -> Any:
        import importlib

        try:
            return getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError):
            if self._fallback is None:
                raise
            import pickle

            return pickle.loads(self._fallback)

    def __reduce__(self) -> tuple:
        fallback = self._fallback
        if fallback is None:
            try:
                fallback = dumps_by_value(self.resolve())
            except Exception:  # noqa: BLE001 - then the module must be importable there
                fallback = None
        return (GlobalRef, (self.module, self.name, fallback))

    def __repr__(self) -> str:
        return f"GlobalRef({self.module}:{self.name})"


def dumps_by_value(obj: Any) -> bytes:
    """cloudpickle `obj`, teaching pickle about Starlette's State on the way."""
    import cloudpickle

    _register_state_reducer()
    return cloudpickle.dumps(obj)


def _register_state_reducer() -> None:
    """Starlette's State recurses in __getattr__ while an unpickled State has no `_state`
    yet (RecursionError at replica start): pickle it by its contents instead."""
    import copyreg

    try:
        from starlette.datastructures import State

        copyreg.pickle(State, _reduce_state)
    except ImportError:  # pragma: no cover - starlette is a dependency
        pass


def _reduce_state(state: Any) -> tuple:
    return (type(state), (dict(state._state),))


def _global_ref(obj: Any, module: str) -> GlobalRef | None:
    import sys

    mod = sys.modules.get(module)
    if mod is None or module == "__main__":
        return None
    for name, value in list(vars(mod).items()):
        if value is obj and not name.startswith("__"):
            return GlobalRef(module, name)
    return None


def _is_asgi_app(obj: Any) -> bool:
    try:
        from starlette.applications import Starlette

        if isinstance(obj, Starlette):
            return True
    except ImportError:  # pragma: no cover - starlette is a dependency
        pass
    call = getattr(obj, "__call__", None)  # noqa: B004 - we look at the signature
    if call is None or inspect.isfunction(obj):
        return False
    try:
        return len(inspect.signature(call).parameters) == 3
    except (TypeError, ValueError):
        return False


def _owner(fn: Any, cls: type) -> bool:
    name = getattr(fn, "__name__", None)
    return name is not None and any(k.__dict__.get(name) is fn for k in cls.__mro__)


def _bind_class_routes(app: Any, cls: type) -> None:
    """Give FastAPI routes on `cls` methods the replica's instance as `self`."""
    try:
        from fastapi import APIRouter, Depends, FastAPI
        from fastapi.routing import APIRoute, APIWebSocketRoute
    except ImportError:  # pragma: no cover
        return
    if not isinstance(app, FastAPI) or getattr(app, "_ember_serve_bound", None) is cls:
        return
    routes = [r for r in app.router.routes if isinstance(r, APIRoute | APIWebSocketRoute)
              and _owner(r.endpoint, cls)]
    if not routes:
        app._ember_serve_bound = cls
        return

    def current_instance() -> Any:
        from ember.serve.context import get_replica_context

        return get_replica_context().servable_object

    new_router = APIRouter()
    for route in routes:
        app.router.routes.remove(route)
        fn = route.endpoint
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if not params:
            raise RuntimeError(f"Methods in FastAPI class-based views must take `self`: "
                               f"{fn.__qualname__}.")
        first = params[0].replace(default=Depends(current_instance))
        rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params[1:]]
        fn.__signature__ = sig.replace(parameters=[first, *rest])
        new_router.routes.append(route)
    app.include_router(new_router)
    app.openapi_schema = None
    app._ember_serve_bound = cls
