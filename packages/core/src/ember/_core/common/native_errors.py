"""The one place where errors of the native module become `ember.exceptions` types.

The C++ store and scheduler raise their own classes (`ember._native.StoreFullError`, …);
users must only ever see the public tree, so every request boundary passes errors
through `to_public`.
"""

from __future__ import annotations

from ember import _native, exceptions

__all__ = ["to_public"]

_PUBLIC: dict[type, type[BaseException]] = {
    _native.StoreFullError: exceptions.ObjectStoreFullError,
    _native.InfeasibleError: exceptions.InfeasibleResourceError,
    _native.NativeIOError: exceptions.RaySystemError,
    _native.ObjectExistsError: exceptions.RaySystemError,
    _native.ObjectNotFoundError: exceptions.RaySystemError,
}


def to_public(e: BaseException) -> BaseException:
    """`e` itself, or the public exception that stands for a native one (cause kept)."""
    public = _PUBLIC.get(type(e))
    if public is None:
        return e
    out = public(str(e.args[0]) if e.args else str(e))
    out.__cause__ = e
    return out
