"""Packing task arguments: top-level ObjectRefs become dependencies resolved to values,
refs nested inside data structures are passed through as refs (borrowed)."""

from __future__ import annotations

from typing import Any

from ember._core.common import serialization


class _Dep:
    """Stands in the serialized arguments for the i-th dependency's value."""

    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i

    def __reduce__(self) -> Any:
        return (_Dep, (self.i,))


def pack(args: tuple, kwargs: dict, ref_type: type, put: Any) -> tuple[bytes, list, list, list]:
    """Return (blob, deps, contained, keep). Large arguments, of any type, are put in the
    store first (via `put`, which takes a Serialized and returns an ObjectRef) so the task
    message stays small; the caller keeps `keep` (those refs) alive until the task is
    submitted."""
    deps: list[bytes] = []
    held: list[Any] = []

    def sub(v: Any) -> Any:
        t = type(v)
        if t is ref_type:
            deps.append(v.binary())
            return _Dep(len(deps) - 1)
        if t is bytes and len(v) >= serialization.OUT_OF_BAND_MIN:
            return serialization.OutOfBandBytes(v)
        return v

    a = tuple(sub(v) for v in args)
    k = {key: sub(v) for key, v in kwargs.items()} if kwargs else {}
    if not a and not k:
        return _EMPTY, deps, [], held
    ser = serialization.serialize((a, k))
    if ser.size > serialization_inline_limit():
        # Move each large positional/keyword value into the store and pass a dependency.
        a2 = tuple(_maybe_put(v, deps, held, put) for v in a)
        k2 = {key: _maybe_put(v, deps, held, put) for key, v in k.items()}
        ser = serialization.serialize((a2, k2))
    return ser.to_bytes(), deps, ser.contained, held


def _maybe_put(v: Any, deps: list, held: list, put: Any) -> Any:
    if isinstance(v, _Dep) or type(v) in (int, float, bool, type(None)):
        return v
    s = serialization.serialize(v)
    if s.size <= serialization_inline_limit():
        return v
    ref = put(s)
    held.append(ref)
    deps.append(ref.binary())
    return _Dep(len(deps) - 1)


def serialization_inline_limit() -> int:
    from ember._core.common.constants import INLINE_MAX

    return INLINE_MAX


def unpack(blob: bytes, values: list[Any]) -> tuple[tuple, dict]:
    if blob == _EMPTY:
        return (), {}
    (a, k), _ = serialization.deserialize(blob)
    if values:
        a = tuple(values[v.i] if type(v) is _Dep else v for v in a)
        if k:
            k = {key: values[v.i] if type(v) is _Dep else v for key, v in k.items()}
    return a, k


_EMPTY = b""
