"""Workarounds for behaviours of the core that Serve's actors run into."""

from __future__ import annotations

import gc
import io
import os
import socket


def collect_inherited_garbage() -> None:
    """Disarm file objects and log handlers this worker inherited from the driver.

    Workers are forked from a template forked from the driver. The template closes the
    driver's descriptors, but the Python objects that owned them live on; when one is
    later closed (garbage collection, or `logging.config.dictConfig` closing old
    handlers, as uvicorn does), it closes its old descriptor number, which by then may
    be a socket this worker opened. Closing those objects now, while their numbers are
    unused, makes that later close a no-op.
    """
    gc.collect()
    _repoint_log_handlers()
    for obj in gc.get_objects():
        try:
            if isinstance(obj, io.FileIO) and not obj.closed and obj.closefd:
                if not _is_open(obj.fileno()):
                    try:
                        obj.close()
                    except OSError:
                        pass
            elif isinstance(obj, socket.socket) and obj.fileno() >= 0:
                if not _is_open(obj.fileno()):
                    obj.detach()
        except (ValueError, OSError, ReferenceError):
            continue


def _repoint_log_handlers() -> None:
    """Log handlers inherited from the driver may write to its streams (under pytest, a
    capture file whose descriptor number this worker reuses): send them to our stderr."""
    import logging
    import sys

    ours = {id(sys.stdout), id(sys.stderr), id(sys.__stdout__), id(sys.__stderr__)}
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for h in list(lg.handlers):
            stream = getattr(h, "stream", None)
            if isinstance(h, logging.StreamHandler) and not isinstance(
                    h, logging.FileHandler) and stream is not None and id(stream) not in ours:
                with h.lock:  # not setStream(): that flushes the stale stream first
                    h.stream = sys.stderr


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
