"""Function trainables: `def train_fn(config): ... tune.report(metrics)` as a Trainable.

The function runs in a thread of the trial's actor. Each report() hands one result to
train() and blocks until Tune asks for the next one, so a scheduler decision always lands
between two reports. Stopping releases the blocked report() with an exception that
unwinds the function.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ember.tune import session
from ember.tune.checkpoint import Checkpoint, persist_directory
from ember.tune.trainable.trainable import Trainable

__all__ = ["FunctionTrainable", "wrap_function"]


class _StopTrial(BaseException):
    """Raised inside report() to unwind a function trainable that Tune stopped."""


class FunctionTrainable(Trainable):
    """Runs a function that reports results through ember.tune.report()."""

    _is_function_trainable = True
    _function: Callable[..., Any] | None = None
    _stop_timeout_s = 5.0

    def setup(self, config: dict[str, Any]) -> None:
        self._results: queue.Queue = queue.Queue()
        self._continue = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._stop_requested = False
        self._finished = False
        self._restore_checkpoint: Checkpoint | None = None
        self._reported_checkpoint: str | None = None
        self._step_start = 0.0

    def train(self) -> dict[str, Any] | None:
        """The next reported result, or None once the function has returned."""
        if self._finished:
            return None
        self._step_start = time.time()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"tune-trial-{self.trial_id}")
            self._thread.start()
        else:
            self._continue.release()
        kind, payload, checkpoint = self._results.get()
        if kind == "result":
            self._reported_checkpoint = checkpoint
            return self._annotate(payload, self._step_start)
        self._finished = True
        if kind == "error":
            raise payload
        return None

    def take_reported_checkpoint(self) -> str | None:
        """The checkpoint reported with the last result (once)."""
        path, self._reported_checkpoint = self._reported_checkpoint, None
        return path

    def _run(self) -> None:
        session._set_trial(self._info, self._report, self._restore_checkpoint)
        try:
            output = self._function(self.config)
            if isinstance(output, dict) and output:
                self._report(output, None)
            self._results.put(("done", None, None))
        except _StopTrial:
            self._results.put(("stopped", None, None))
        except BaseException as e:  # noqa: BLE001 - handed to the controller
            self._results.put(("error", e, None))

    def _report(self, metrics: dict[str, Any], checkpoint: Checkpoint | None) -> None:
        path = None
        if checkpoint is not None:
            dest = self._next_checkpoint_dir()
            path = persist_directory(checkpoint.path, dest).path
        self._results.put(("result", dict(metrics), path))
        self._continue.acquire()
        if self._stop_requested:
            raise _StopTrial()
        self._step_start = time.time()

    def save_checkpoint(self, checkpoint_dir: str) -> dict | None:
        raise NotImplementedError("Function trainables save checkpoints by passing them to "
                                  "ember.tune.report(metrics, checkpoint=...).")

    def restore(self, checkpoint: Any, meta: dict[str, Any] | None = None) -> None:
        path = getattr(checkpoint, "path", checkpoint)
        self._restore_checkpoint = Checkpoint(os.fspath(path))
        self._set_progress(meta)

    def stop(self) -> bool:
        """Unwind the function; True if its thread ended (the process can be reused)."""
        self._stop_requested = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._continue.release()
            thread.join(self._stop_timeout_s)
        session._set_trial(None)
        self.cleanup()
        return thread is None or not thread.is_alive()


def wrap_function(fn: Callable[..., Any], name: str | None = None) -> type[FunctionTrainable]:
    """A FunctionTrainable subclass that runs `fn(config)`."""
    resources = getattr(fn, "_tune_resources", None)

    class _Wrapped(FunctionTrainable):
        _function = staticmethod(fn)

        @classmethod
        def default_resource_request(cls, config: dict[str, Any]) -> Any:
            return resources(config) if callable(resources) else resources

    _Wrapped.__name__ = name or getattr(fn, "__name__", "trainable")
    _Wrapped.__qualname__ = _Wrapped.__name__
    return _Wrapped
