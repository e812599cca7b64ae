"""What a process forked from the driver inherits besides memory, made harmless.

The worker template may be forked from the driver itself. It parks every descriptor it
does not need on /dev/null, so the numbers stay taken; but the Python objects that owned
them (files, sockets, log handlers) live on in its memory and in every worker forked
from it. When one of them is closed later (garbage collection, or
`logging.config.dictConfig` closing old handlers, as uvicorn does), it would close its
old number, which by then may be a socket the worker opened since. Closing those objects
once, in the template, while their numbers still point at /dev/null, makes that later
close a no-op in every worker.
"""

from __future__ import annotations

import gc
import io
import logging
import socket
import sys


def disarm(parked: set[int]) -> None:
    """Close the inherited file and socket objects whose descriptor is in `parked`, and
    send inherited log handlers that write to the driver's streams to our stderr."""
    gc.collect()
    _repoint_log_handlers()
    streams = _standard_stream_files()
    for obj in gc.get_objects():
        try:
            if isinstance(obj, io.FileIO):
                if not obj.closed and obj.closefd and obj.fileno() in parked \
                        and id(obj) not in streams:
                    obj.close()
            elif isinstance(obj, socket.socket):
                if obj.fileno() in parked:
                    obj.close()
        except (ValueError, OSError, ReferenceError):
            continue


def _standard_stream_files() -> set[int]:
    """The objects behind sys.stdout/stderr/stdin (text, buffer, raw file): kept open.
    They may write to a parked descriptor (under pytest's capture, a temporary file);
    closing them would make every later print raise."""
    out: set[int] = set()
    for stream in (sys.stdout, sys.stderr, sys.stdin, sys.__stdout__, sys.__stderr__,
                   sys.__stdin__):
        obj = stream
        while obj is not None and id(obj) not in out:
            out.add(id(obj))
            obj = getattr(obj, "buffer", None) or getattr(obj, "raw", None)
    return out


def _repoint_log_handlers() -> None:
    """Handlers inherited from the driver may write to its streams (under pytest, a
    capture file whose descriptor is parked here): send them to this process's stderr."""
    ours = {id(sys.stdout), id(sys.stderr), id(sys.__stdout__), id(sys.__stderr__)}
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for h in list(lg.handlers):
            stream = getattr(h, "stream", None)
            if isinstance(h, logging.StreamHandler) and not isinstance(
                    h, logging.FileHandler) and stream is not None and id(stream) not in ours:
                h.acquire()  # not setStream(): that flushes the stale stream first
                try:
                    h.stream = sys.stderr
                finally:
                    h.release()


__all__ = ["disarm"]
