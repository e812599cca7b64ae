"""A driver blocked in `get` reads its workers' replies itself.

In an embedded cluster the node's IO loop runs on a thread of the driver's process. A
driver waiting for results would otherwise wait for that thread to read each worker's
reply and then hand the result over: a second thread switch per result, as costly as the
socket round trip itself. Instead, while the driver waits, it takes the sockets of the
local workers running the tasks it waits for out of the IO loop's selector, polls them
itself, handles their messages under the node lock exactly as the IO loop would (which
also starts the next queued tasks on them), and gives the sockets back before it returns.
Results that arrive any other way (from a peer, a put, a worker it does not read) ring
the thread's doorbell, a pipe it polls with the sockets.

Before it sleeps in `poll()` the driver polls without sleeping for up to 100 µs
(`ember._core.common.spin`, which stops spinning where waits run longer or the core is
wanted elsewhere): a reply to a short task then finds the driver on its core, so the
worker's send wakes nobody (on a virtual machine a send that wakes a sleeper costs 10–25
µs) and the driver reads it at once. Only where the process may use two cores or more;
`EMBER_SPIN_US` sets the limit (0: never). Workers wait for their next call the same way
(`framing.Connection`).

Thread-safety: `wait` is called without the node lock held; the lock is taken for each
step, so the IO loop keeps serving every other socket meanwhile.
"""

from __future__ import annotations

import functools
import os
import select
import selectors
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ember._core.common import framing, ids
from ember._core.common.spin import Spinner, wait_spin_s
from ember._core.node.pool import DEAD, WorkerHandle

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

_IN = select.POLLIN | select.POLLHUP | select.POLLERR
_OUT = select.POLLOUT


class _Doorbell:
    """One non-blocking pipe per driver thread, closed with the thread."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def drain(self) -> None:
        try:
            while os.read(self.r, 4096):
                pass
        except BlockingIOError:
            pass

    def __del__(self) -> None:
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass


_local = threading.local()


def _doorbell() -> _Doorbell:
    bell = getattr(_local, "bell", None)
    if bell is None:
        bell = _local.bell = _Doorbell()
    return bell


def ring(fd: int) -> None:
    """Wake the thread whose doorbell this is (a full pipe has woken it already)."""
    try:
        os.write(fd, b"\0")
    except OSError:
        pass


class DriverReads:
    """Lets the driver's thread read the sockets of the workers it waits on."""

    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.spinner = Spinner(wait_spin_s())

    def _sources(self, want: set[bytes], mine: dict[int, WorkerHandle]) -> list[WorkerHandle]:
        """The local workers, free for this thread to read, running a task (or holding an
        actor call in flight) whose id is in `want`. Looks at the workers, not the ids:
        a wait for thousands of results costs no more per step than a wait for one."""
        found: list[WorkerHandle] = []
        for w in self.node.workers.values():
            if w.state == DEAD or w.conn.closed or (w.reader and w.wid not in mine):
                continue
            task = w.task
            if task is not None:
                if task.task_id in want:
                    found.append(w)
            elif w.actor is not None and w.actor.inflight:
                if any(tid in want for tid in w.actor.inflight):
                    found.append(w)
        return found

    def wait(self, object_ids: list[bytes], done: Callable[[], bool],
             bell_slot: list[int]) -> None:
        """Handle the source workers' messages on this thread until `done()` (checked
        under the lock). Returns early, leaving the wait to the IO loop, when no local
        worker it may read is computing any of the results."""
        node = self.node
        want = {ids.task_of(oid) for oid in object_ids}
        bell = _doorbell()
        bell.drain()
        mine: dict[int, WorkerHandle] = {}
        poller = select.poll()
        poller.register(bell.r, select.POLLIN)
        ready = functools.partial(poller.poll, 0)  # what a spin looks at
        try:
            with node.lock:
                bell_slot.append(bell.w)
            while True:
                with node.lock:
                    if done() or node.stopped:
                        return
                    ws = self._sources(want, mine)
                    if not ws:
                        return
                    for w in ws:
                        if w.wid not in mine:
                            self._take(w, mine, poller)
                    for wid in [wid for wid in mine if all(w.wid != wid for w in ws)]:
                        self._give_back(mine.pop(wid), poller)
                    for w in mine.values():
                        poller.modify(w.conn.sock, _IN | (_OUT if w.conn.pending else 0))
                events = self.spinner.spin(ready) or poller.poll()
                with node.lock:
                    if node.stopped:
                        return
                    node.process_driver_refs()
                    by_fd = {w.conn.sock.fileno(): w for w in mine.values()}
                    for fd, mask in events:
                        if fd == bell.r:
                            bell.drain()
                            continue
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
                bell_slot.clear()
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
