"""The object wire format: pickle protocol 5 with out-of-band buffers, zero-copy on read.

Layout of a serialized object (inline bytes or a shared-memory block alike):

    byte 0      flags (1: has out-of-band buffers, 2: the value is an error to raise)
    bytes 1..   plain: the pickle stream
                with buffers: u32 count, u64 pickle length, u64 length per buffer, the
                pickle stream, then each buffer at a 64-byte aligned offset

Buffers (numpy arrays, Arrow buffers, bytes-like) come back as views of the memory they
were read from, so a 1 GB array read from the store costs no copy.
"""

from __future__ import annotations

import pickle
import struct
import threading
from collections.abc import Callable
from typing import Any

from ember._core.common import buffers

_cloudpickle: Any = None


def _cp() -> Any:
    """cloudpickle, imported on first use (it costs ~30 ms of start-up)."""
    global _cloudpickle
    if _cloudpickle is None:
        import cloudpickle

        _cloudpickle = cloudpickle
    return _cloudpickle

FLAG_BUFFERS = 1
# bytes at least this large travel out of band like numpy buffers: written to the store
# once, copied once on read (a bytes object cannot be a view).
OUT_OF_BAND_MIN = 64 * 1024
FLAG_ERROR = 2
_ALIGN = 64
_COUNT = struct.Struct("<IQ")
_LEN = struct.Struct("<Q")
_PRIMITIVE = (int, float, str, bytes, bool, type(None))

_ctx = threading.local()


def _align(n: int) -> int:
    return (n + _ALIGN - 1) & ~(_ALIGN - 1)


def contained_collector() -> list | None:
    """The list into which ObjectRef/ActorHandle reducers record what a value contains."""
    return getattr(_ctx, "collector", None)


class OutOfBandBytes:
    """Wraps a large bytes value so pickle hands its buffer out of band (no copy into the
    pickle stream); it unpickles as a plain bytes object (buffers.bytes_from_buffer)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: Any) -> Any:
        return buffers.bytes_from_buffer, (pickle.PickleBuffer(self.data),)


class Serialized:
    """A value ready to be written: pickle bytes, out-of-band buffers, contained ids."""

    __slots__ = ("flags", "payload", "buffers", "contained", "size", "_layout")

    def __init__(self, flags: int, payload: bytes, buffers: list[memoryview],
                 contained: list[bytes]) -> None:
        self.flags = flags
        self.payload = payload
        self.buffers = buffers
        self.contained = contained
        if buffers:
            head = 1 + _COUNT.size + _LEN.size * len(buffers)
            pos = _align(head + len(payload))
            layout = []
            for b in buffers:
                layout.append(pos)
                pos = _align(pos + b.nbytes)
            self._layout = (head, layout)
            self.size = pos
        else:
            self._layout = None
            self.size = 1 + len(payload)

    def chunks(self) -> list[tuple[int, Any]]:
        """(offset, bytes-like) pieces that make up the serialized form."""
        if self._layout is None:
            return [(0, bytes((self.flags,))), (1, self.payload)]
        head, layout = self._layout
        header = bytearray((self.flags,))
        header += _COUNT.pack(len(self.buffers), len(self.payload))
        for b in self.buffers:
            header += _LEN.pack(b.nbytes)
        out: list[tuple[int, Any]] = [(0, bytes(header)), (head, self.payload)]
        for off, b in zip(layout, self.buffers, strict=True):
            out.append((off, b))
        return out

    def to_bytes(self) -> bytes:
        if self._layout is None:
            return bytes((self.flags,)) + self.payload
        out = bytearray(self.size)
        for off, piece in self.chunks():
            mv = memoryview(piece).cast("B")
            out[off : off + mv.nbytes] = mv
        return bytes(out)

    def write_into(self, write: Callable[[int, Any], None]) -> None:
        for off, piece in self.chunks():
            write(off, piece)


def serialize(value: Any, *, error: bool = False) -> Serialized:
    """Serialize `value`; raises TypeError naming what could not be pickled."""
    flags = FLAG_ERROR if error else 0
    if type(value) in _PRIMITIVE:
        if type(value) is not bytes or len(value) < OUT_OF_BAND_MIN:
            return Serialized(flags, pickle.dumps(value, protocol=5), [], [])
        value = OutOfBandBytes(value)
    buffers: list[pickle.PickleBuffer] = []
    prev = getattr(_ctx, "collector", None)
    contained: list[bytes] = []
    _ctx.collector = contained
    try:
        payload = _cp().dumps(value, protocol=5, buffer_callback=buffers.append)
    except Exception as e:  # noqa: BLE001 - reported with the cause attached
        raise TypeError(
            f"Could not serialize {type(value).__name__} object: {e}. "
            "Check it with ember.util.inspect_serializability()."
        ) from e
    finally:
        _ctx.collector = prev
    views = []
    for b in buffers:
        raw = b.raw()
        views.append(raw)
    if views:
        flags |= FLAG_BUFFERS
    return Serialized(flags, payload, views, contained)


def serialize_error(err: BaseException) -> Serialized:
    try:
        return serialize(err, error=True)
    except TypeError:
        from ember.exceptions import RayError

        return serialize(RayError(f"{type(err).__name__}: {err}"), error=True)


def deserialize(data: memoryview | bytes) -> tuple[Any, bool]:
    """Return (value, is_error); buffers are views of `data` (no copy)."""
    mv = memoryview(data)
    flags = mv[0]
    if not flags & FLAG_BUFFERS:
        return pickle.loads(mv[1:]), bool(flags & FLAG_ERROR)
    count, plen = _COUNT.unpack_from(mv, 1)
    pos = 1 + _COUNT.size
    lengths = []
    for _ in range(count):
        (n,) = _LEN.unpack_from(mv, pos)
        lengths.append(n)
        pos += _LEN.size
    payload = mv[pos : pos + plen]
    off = _align(pos + plen)
    bufs = []
    for n in lengths:
        bufs.append(mv[off : off + n])
        off = _align(off + n)
    return pickle.loads(payload, buffers=bufs), bool(flags & FLAG_ERROR)


# Ray's limit: code this large almost always captures a big object by accident.
FUNCTION_SIZE_ERROR_THRESHOLD = 95 * 1024 * 1024


def dumps_function(fn: Any, kind: str = "remote function") -> bytes:
    """Pickle code (functions, classes) by value so workers need not import __main__.

    Raises ValueError when the result is over FUNCTION_SIZE_ERROR_THRESHOLD (the code
    captures a large object), TypeError when it cannot be pickled.
    """
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        data = _cp().dumps(fn, protocol=5)
    except Exception as e:  # noqa: BLE001
        raise TypeError(
            f"Could not serialize the {kind} {name!r}: {e}. It (or a "
            "global it captures) cannot be pickled; create such objects inside the task."
        ) from e
    if len(data) > FUNCTION_SIZE_ERROR_THRESHOLD:
        if isinstance(fn, type):  # Ray names an actor by its class's own name
            name = fn.__name__
        mib = 1024 * 1024
        raise ValueError(
            f"The {kind} {name} is too large ({len(data) // mib} MiB > "
            f"FUNCTION_SIZE_ERROR_THRESHOLD={FUNCTION_SIZE_ERROR_THRESHOLD // mib} MiB). "
            "Check that its definition is not implicitly capturing a large array or other "
            "object in scope. Tip: use ember.put() to put large objects in the object store.")
    return data
