"""The training worker: an actor that runs the user's loop in a thread of its own.

The driver long-polls `poll()` for reports while the loop runs, so the actor takes a few
concurrent calls (a threaded actor).
"""

from __future__ import annotations

import inspect
import os
import socket
import threading
import traceback
from typing import Any

import ember
from ember.train import context
from ember.train._messages import PollResult, RunSpec, WorkerError, WorkerInfo

__all__ = ["TrainWorker", "takes_config"]


def takes_config(fn: Any) -> bool:
    """Whether the training function takes a config argument."""
    try:
        return len(inspect.signature(fn).parameters) >= 1
    except (TypeError, ValueError):
        return True


class TrainWorker:
    """Hosts one rank: runs setup functions, then the loop; hands reports to the driver."""

    def __init__(self, num_cpus: float) -> None:
        # Math libraries use as many threads as the worker has CPUs (torch reads this
        # when it is first imported in this process).
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, int(num_cpus))))
        self._num_cpus = num_cpus
        self._finished = threading.Event()
        self._error: WorkerError | None = None
        self._session: context._Session | None = None
        self._thread: threading.Thread | None = None

    def info(self) -> WorkerInfo:
        ctx = ember.get_runtime_context()
        node_id = ctx.get_node_id()
        ip = "127.0.0.1"
        for node in ember.nodes():
            if node.get("NodeID") == node_id:
                ip = node.get("NodeManagerAddress") or ip
        return WorkerInfo(node_id, ip, os.getpid(), tuple(ember.get_gpu_ids()))

    def free_port(self, host: str) -> int:
        with socket.socket() as s:
            s.bind((host, 0))
            return s.getsockname()[1]

    def execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` in this worker (backend set-up and tear-down)."""
        return fn(*args, **kwargs)

    def start(self, spec: RunSpec) -> None:
        session = context._Session(spec)
        self._session = session
        context._set_session(session)
        self._thread = threading.Thread(target=self._run, args=(spec,), daemon=True,
                                        name="ember-train-loop")
        self._thread.start()

    def _run(self, spec: RunSpec) -> None:
        try:
            if spec.takes_config:
                spec.train_fn(spec.config if spec.config is not None else {})
            else:
                spec.train_fn()
        except BaseException as e:  # noqa: BLE001 - handed to the driver
            try:
                import cloudpickle

                cloudpickle.dumps(e)
                exc: BaseException | None = e
            except Exception:  # noqa: BLE001
                exc = None
            self._error = WorkerError(spec.world_rank, type(e).__name__, str(e),
                                      traceback.format_exc(), exc)
        finally:
            self._finished.set()
            assert self._session is not None
            self._session.wake()

    def poll(self, timeout: float) -> PollResult:
        """Reports made since the last poll; waits up to `timeout` for one or the end."""
        session = self._session
        if session is None:
            raise RuntimeError("poll() before start()")
        done = self._finished.is_set()
        reports = session.take_reports(timeout, self._finished)
        if done:
            reports += session.drain()
            session.close()
        return PollResult(reports, done, self._error if done else None)
