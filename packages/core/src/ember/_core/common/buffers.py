"""Large bytes objects made without holding the GIL, on huge pages.

A 100 MB `bytes` copied the plain way holds the GIL for the whole copy (an actor's event
loop stalls meanwhile) and takes one page fault per 4 KiB of fresh memory. Here the result
is allocated uninitialized, advised onto transparent huge pages before it is touched (as
numpy does for large arrays), and filled by memmove, a foreign call that releases the GIL.
No one else can see the object before it is filled.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any

__all__ = ["bytes_from_buffer", "join_bytes"]

_BYTES_DATA = bytes.__basicsize__ - 1  # where a bytes object's data starts (CPython)
_GIL_FREE_MIN = 1 << 20
_HUGE = 2 << 20
_MADV_HUGEPAGE = 14
_new_bytes: Any = None
_madvise: Any = None


def _fresh(n: int) -> tuple[bytes, int]:
    """An uninitialized bytes object of n bytes and the address of its data."""
    global _new_bytes
    if _new_bytes is None:
        fn = ctypes.pythonapi.PyBytes_FromStringAndSize
        fn.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
        fn.restype = ctypes.py_object
        _new_bytes = fn
    out = _new_bytes(None, n)
    addr = id(out) + _BYTES_DATA
    _advise_huge_pages(addr, n)
    return out, addr


def _advise_huge_pages(addr: int, n: int) -> None:
    global _madvise
    if _madvise is None:
        try:
            fn = ctypes.CDLL(None, use_errno=True).madvise
            fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
            fn.restype = ctypes.c_int
            _madvise = fn
        except (OSError, AttributeError):
            _madvise = False
    if not _madvise:
        return
    start = (addr + _HUGE - 1) & ~(_HUGE - 1)
    end = (addr + n) & ~(_HUGE - 1)
    if end > start:
        _madvise(start, end - start, _MADV_HUGEPAGE)


def bytes_from_buffer(buf: Any) -> bytes:
    """A bytes copy of any buffer (a memoryview of shared memory, a PickleBuffer, …)."""
    mv = memoryview(buf).cast("B")
    n = mv.nbytes
    if n < _GIL_FREE_MIN or not mv.c_contiguous:
        return bytes(mv)
    import numpy as np

    out, dst = _fresh(n)
    ctypes.memmove(dst, np.frombuffer(mv, dtype=np.uint8).ctypes.data, n)
    return out


def join_bytes(chunks: Iterable[bytes]) -> bytes:
    """`b"".join(chunks)`, copied with the GIL released when the result is large."""
    chunks = [c if type(c) is bytes else bytes(c) for c in chunks]
    n = sum(map(len, chunks))
    if n < _GIL_FREE_MIN:
        return b"".join(chunks)
    out, pos = _fresh(n)
    for c in chunks:
        ctypes.memmove(pos, id(c) + _BYTES_DATA, len(c))
        pos += len(c)
    return out
