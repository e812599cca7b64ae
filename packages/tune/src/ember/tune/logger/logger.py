"""LoggerCallback: per-trial start/result/end hooks, with cheap buffered file output."""

from __future__ import annotations

import json
import math
import os
import time
from typing import IO, Any

from ember.tune.callback import Callback

__all__ = ["LoggerCallback"]

FLUSH_PERIOD_S = 5.0


class LoggerCallback(Callback):
    """Base for loggers: override log_trial_start/log_trial_result/log_trial_end."""

    def log_trial_start(self, trial: Any) -> None:
        pass

    def log_trial_restore(self, trial: Any) -> None:
        pass

    def log_trial_save(self, trial: Any) -> None:
        pass

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        pass

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        pass

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.log_trial_start(trial)

    def on_trial_restore(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.log_trial_restore(trial)

    def on_trial_save(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.log_trial_save(trial)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        self.log_trial_result(iteration, trial, result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.log_trial_end(trial, failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.log_trial_end(trial, failed=True)


class _FileLogger(LoggerCallback):
    """Keeps one append-mode file per trial; flushes every few seconds, never fsyncs."""

    filename = ""

    def __init__(self) -> None:
        self._files: dict[str, IO[str]] = {}
        self._last_flush = time.monotonic()

    def _open(self, trial: Any) -> IO[str]:
        f = self._files.get(trial.trial_id)
        if f is None:
            path = trial.ensure_dir()
            f = self._files[trial.trial_id] = open(
                os.path.join(path, self.filename), "a", buffering=1 << 16)
        return f

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        f = self._files.pop(trial.trial_id, None)
        if f is not None:
            f.close()

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_PERIOD_S:
            self._last_flush = now
            for f in self._files.values():
                f.flush()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


def json_default(value: Any) -> Any:
    """JSON fallback for numpy scalars/arrays and other objects (their repr)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", 1) == 1:
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return repr(value)


def dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=json_default, **kwargs)


def is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return hasattr(value, "dtype") and getattr(value, "size", 0) == 1 and \
        getattr(value.dtype, "kind", "") in "iuf"


def finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
