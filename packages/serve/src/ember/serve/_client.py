"""Per-process Serve state: the controller handle, routers and the long-poll that feeds them.

Every process that uses Serve (the driver, the proxy, replicas calling other
deployments) has one ServeClient per ember session. It runs a small asyncio loop on a
daemon thread: that loop long-polls the controller for routing changes, places queued
requests, and reports queued requests for autoscaling. Nothing here blocks a caller.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import uuid
from collections.abc import Callable
from typing import Any

import ember
from ember.serve._constants import (
    CONTROLLER_NAME,
    HANDLE_METRICS_PERIOD_S,
    SERVE_NAMESPACE,
)
from ember.serve._router import Router
from ember.serve.exceptions import RayServeException

_lock = threading.Lock()
_client: ServeClient | None = None


class ServeClient:
    """Routing state shared by every handle of this process."""

    def __init__(self, job_id: str, controller: Any) -> None:
        self.job_id = job_id
        self.controller = controller
        self.closed = False
        self.listener_id = uuid.uuid4().hex
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, daemon=True,
                                        name="ember-serve-client")
        self._thread.start()
        self._lock = threading.Lock()
        self.routers: dict[tuple[str, str], Router] = {}
        self._snapshot: dict[Any, int] = {}
        self._callbacks: dict[Any, list[Callable[[Any], None]]] = {}
        self._values: dict[Any, Any] = {}
        self._poll_gen = 0
        self._metrics_task: asyncio.Task | None = None
        self.handle_id = uuid.uuid4().hex

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def schedule(self, fn: Callable[[], None]) -> None:
        """Run `fn` soon on the client's loop thread (safe from any thread)."""
        if not self.closed:
            self.loop.call_soon_threadsafe(fn)

    def run_coroutine(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        """Stop the loop thread, cancelling its tasks first (no pending-task warnings)."""
        self.closed = True
        self._poll_gen += 1

        def stop() -> None:
            for t in asyncio.all_tasks(self.loop):
                t.cancel()
            self.loop.call_soon(self.loop.stop)

        try:
            self.loop.call_soon_threadsafe(stop)
        except RuntimeError:
            pass

    # -- routers ----------------------------------------------------------------------

    def router(self, app_name: str, deployment_name: str) -> Router:
        key = (app_name, deployment_name)
        r = self.routers.get(key)
        if r is not None:
            return r
        with self._lock:
            r = self.routers.get(key)
            if r is None:
                r = Router(key, self.schedule, self.note_queued)
                self.routers[key] = r
                self.subscribe(("replicas", app_name, deployment_name), r.update)
        return r

    # -- long poll --------------------------------------------------------------------

    def subscribe(self, key: Any, callback: Callable[[Any], None]) -> None:
        """Call `callback(value)` on the loop thread now (if known) and on each change."""
        def add() -> None:
            self._callbacks.setdefault(key, []).append(callback)
            if key in self._values:
                callback(self._values[key])
            if key not in self._snapshot:
                self._snapshot[key] = -1
                self._restart_poll()

        self.schedule(add)

    def _restart_poll(self) -> None:
        self._poll_gen += 1
        self.loop.create_task(self._poll(self._poll_gen))

    async def _poll(self, gen: int) -> None:
        while gen == self._poll_gen and not self.closed:
            try:
                updates = await self.controller.listen_for_change.remote(
                    self.listener_id, dict(self._snapshot))
            except Exception:  # noqa: BLE001 - the controller is gone (serve shut down)
                if gen == self._poll_gen:
                    self.closed = True
                return
            if gen != self._poll_gen:
                return
            for key, (version, value) in updates.items():
                if key not in self._snapshot:
                    continue
                self._snapshot[key] = version
                self._values[key] = value
                for cb in list(self._callbacks.get(key, ())):
                    try:
                        cb(value)
                    except Exception:  # noqa: BLE001 - one bad subscriber must not stop routing
                        import traceback

                        traceback.print_exc()

    # -- autoscaling metrics ------------------------------------------------------------

    def note_queued(self) -> None:
        """A request was queued: make sure queue lengths reach the controller."""
        if self._metrics_task is None:
            def start() -> None:
                if self._metrics_task is None:
                    self._metrics_task = self.loop.create_task(self._report_queued())

            self.schedule(start)

    async def _report_queued(self) -> None:
        """While requests wait here, tell the controller (it counts them as load)."""
        try:
            while not self.closed:
                active = False
                for key, r in list(self.routers.items()):
                    n = r.num_queued()
                    if n or r.reported_queued:
                        active = True
                        r.reported_queued = n
                        self.controller.record_handle_metrics.remote(key, self.handle_id, n)
                if not active:
                    return
                await asyncio.sleep(HANDLE_METRICS_PERIOD_S)
        except Exception:  # noqa: BLE001 - the controller is gone
            pass
        finally:
            self._metrics_task = None


def get_controller() -> Any:
    """The controller actor, or RayServeException if Serve is not running."""
    try:
        return ember.get_actor(CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        raise RayServeException("There is no Serve instance running on this cluster. "
                                "Start one with serve.start() or serve.run().") from None


def get_client() -> ServeClient:
    """This process's ServeClient for the current ember session and Serve instance."""
    global _client
    job_id = ember.get_runtime_context().get_job_id()
    c = _client
    if c is not None and c.job_id == job_id and not c.closed:
        return c
    with _lock:
        c = _client
        if c is not None and c.job_id == job_id and not c.closed:
            return c
        if c is not None:
            c.close()
        _client = ServeClient(job_id, get_controller())
        return _client


@atexit.register
def _close_at_exit() -> None:
    """Cancel the client's tasks before the interpreter goes (a program that ends
    without serve.shutdown() would otherwise print "Task was destroyed but it is
    pending")."""
    c = _client
    if c is not None and not c.closed:
        c.close()
        if c._thread is not threading.current_thread():
            c._thread.join(timeout=2.0)


def reset_client() -> None:
    """Forget this process's Serve state (after serve.shutdown())."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
