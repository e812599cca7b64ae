"""TBXLoggerCallback: TensorBoard event files per trial (tensorboardX, else torch's writer).

Neither package is required: without them this logger is left out of the defaults, and
an explicit TBXLoggerCallback() warns once and records nothing.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

from ember.tune.logger.logger import LoggerCallback, is_number
from ember.tune.search.variant_generator import flatten_dict

__all__ = ["TBXLoggerCallback", "tensorboard_available"]


def tensorboard_available() -> bool:
    """True if tensorboardX or torch.utils.tensorboard can be imported (checked cheaply)."""
    if importlib.util.find_spec("tensorboardX") is not None:
        return True
    return importlib.util.find_spec("torch") is not None and \
        importlib.util.find_spec("tensorboard") is not None


def _writer_class() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
    return SummaryWriter


class TBXLoggerCallback(LoggerCallback):
    """Logs every numeric result value as a scalar under `ember/tune/<key>`."""

    def __init__(self) -> None:
        self._writer_cls: Any = None
        self._checked = False
        self._writers: dict[str, Any] = {}

    def _writer(self, trial: Any) -> Any:
        if not self._checked:
            self._checked = True
            self._writer_cls = _writer_class()
            if self._writer_cls is None:
                warnings.warn("TBXLoggerCallback: install tensorboardX (pip install "
                              "tensorboardX) to write TensorBoard files.", stacklevel=2)
        if self._writer_cls is None:
            return None
        w = self._writers.get(trial.trial_id)
        if w is None:
            w = self._writers[trial.trial_id] = self._writer_cls(trial.path, flush_secs=30)
        return w

    def log_trial_start(self, trial: Any) -> None:
        self._writer(trial)

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        w = self._writer(trial)
        if w is None:
            return
        step = result.get("training_iteration", iteration)
        flat = flatten_dict({k: v for k, v in result.items() if k != "config"})
        for key, value in flat.items():
            if is_number(value):
                w.add_scalar(f"ember/tune/{key}", float(value), global_step=step)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        w = self._writers.pop(trial.trial_id, None)
        if w is not None:
            w.close()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()
