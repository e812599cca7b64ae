"""A driver blocked in `get` reads its workers' replies itself.

In an embedded cluster the node's IO loop runs on a thread of the driver's process. A
driver waiting for a result would otherwise wait for that thread to read the worker's
reply and then hand the result over: a second thread switch on every call, as costly as
the socket round trip itself. Instead, while the driver waits for results that local
workers are computing, it takes those workers' sockets out of the IO loop's selector,
polls them itself, handles their messages under the node lock exactly as the IO loop
would, and gives the sockets back before it returns.

Thread-safety: every method is called without the node lock held; the lock is taken for
each step, so the IO loop keeps serving every other socket meanwhile.
"""

from __future__ import annotations

import select
import selectors
from collections.abc import Callable
from typing import TYPE_CHECKING

from ember._core.common import framing, ids
from ember._core.node.pool import DEAD, WorkerHandle

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

# Between checks of `done` when no socket has news (another thread may have answered the
# wait: a cancellation, a failure noticed elsewhere). Not a timing assumption: replies
# arrive on the polled sockets and wake the poll at once.
_RECHECK_MS = 50
_IN = select.POLLIN | select.POLLHUP | select.POLLERR
_OUT = select.POLLOUT


class DriverReads:
    """Lets the driver's thread read the sockets of the workers it waits on."""

    def __init__(self, node: NodeManager) -> None:
        self.node = node

    def _sources(self, object_ids: list[bytes],
                 mine: dict[int, WorkerHandle]) -> list[WorkerHandle] | None:
        """The local workers running the tasks of the ids not yet ready, or None when one
        of those results comes from anywhere else (a queued task, another node, a put)."""
        node = self.node
        tasks = node.task_manager.tasks
        objects = node.objects
        found: list[WorkerHandle] = []
        for oid in object_ids:
            if objects.is_ready(oid):
                continue
            task = tasks.get(ids.task_of(oid))
            w = task.worker if task is not None else None
            if not isinstance(w, WorkerHandle) or w.state == DEAD or w.conn.closed:
                return None
            if w.reader and w.wid not in mine:  # another thread of the driver reads it
                return None
            if w not in found:
                found.append(w)
        return found

    def wait(self, object_ids: list[bytes], done: Callable[[], bool]) -> None:
        """Handle the source workers' messages on this thread until `done()` (checked
        under the lock) or until a result is due from elsewhere; the caller then waits
        for the IO loop as before."""
        node = self.node
        mine: dict[int, WorkerHandle] = {}
        poller = select.poll()
        try:
            while True:
                with node.lock:
                    if done() or node.stopped:
                        return
                    ws = self._sources(object_ids, mine)
                    if not ws:
                        return
                    for w in ws:
                        if w.wid not in mine:
                            self._take(w, mine, poller)
                    for wid in [wid for wid in mine if all(w.wid != wid for w in ws)]:
                        self._give_back(mine.pop(wid), poller)
                    for w in mine.values():
                        poller.modify(w.conn.sock, _IN | (_OUT if w.conn.pending else 0))
                events = poller.poll(_RECHECK_MS)
                if not events:
                    continue
                with node.lock:
                    if node.stopped:
                        return
                    node.process_driver_refs()
                    by_fd = {w.conn.sock.fileno(): w for w in mine.values()}
                    for fd, mask in events:
                        w = by_fd.get(fd)
                        if w is None:
                            continue
                        if mask & _OUT:
                            w.conn.flush()
                        if mask & _IN and not self._read(w):
                            poller.unregister(fd)
                            mine.pop(w.wid, None)
        finally:
            with node.lock:
                for w in mine.values():
                    self._give_back(w, poller)

    def _take(self, w: WorkerHandle, mine: dict[int, WorkerHandle],
              poller: select.poll) -> None:
        try:
            self.node.selector.unregister(w.conn.sock)
        except (KeyError, ValueError):
            return
        w.reader = True
        mine[w.wid] = w
        poller.register(w.conn.sock, _IN)

    def _give_back(self, w: WorkerHandle, poller: select.poll) -> None:
        w.reader = False
        try:
            poller.unregister(w.conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        if w.state == DEAD or w.conn.closed or self.node.stopped:
            return
        try:
            self.node.selector.register(w.conn.sock, selectors.EVENT_READ, w)
        except (KeyError, ValueError, OSError):
            return
        if w.conn.pending:
            self.node.want_write(w)

    def _read(self, w: WorkerHandle) -> bool:
        """Handle what `w` sent; False once it is gone."""
        node = self.node
        try:
            msgs = w.conn.recv_available()
        except (framing.ConnectionClosed, OSError):
            node.on_worker_dead(w)
            return False
        for msg in msgs:
            node.on_worker_message_safely(w, msg)
        return True
