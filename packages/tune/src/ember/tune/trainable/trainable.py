"""The class Trainable API: setup/step/save_checkpoint/load_checkpoint/cleanup.

Tune calls train() once per iteration; it calls step() and adds the automatic result
fields (training_iteration, time_total_s, ...). save() and restore() wrap
save_checkpoint()/load_checkpoint() with checkpoint directories inside the trial folder.
"""

from __future__ import annotations

import copy
import os
import pickle
import socket
import tempfile
import time
from datetime import datetime
from typing import Any

from ember.tune.session import _TrialInfo

__all__ = ["Trainable"]

_DICT_CHECKPOINT = "_dict_checkpoint.pkl"
_HOST: dict[str, str] = {}

# Keys every result carries; a trainable's own values for these are overwritten.
AUTO_RESULT_KEYS = ("training_iteration", "time_total_s", "timestamp", "date", "pid",
                    "hostname", "node_ip", "trial_id", "iterations_since_restore",
                    "time_since_restore", "time_this_iter_s", "done", "config",
                    "experiment_tag", "timesteps_total", "episodes_total", "timesteps_since_restore",
                    "checkpoint_dir_name", "should_checkpoint")


def _host() -> tuple[str, str]:
    if not _HOST:
        name = socket.gethostname()
        _HOST["hostname"] = name
        _HOST["node_ip"] = "127.0.0.1"
    return _HOST["hostname"], _HOST["node_ip"]


class Trainable:
    """Subclass and implement setup(config) and step() -> dict of metrics.

    Optionally save_checkpoint(checkpoint_dir) -> dict | None and
    load_checkpoint(checkpoint) (the dict, or the directory when None was returned),
    reset_config(new_config) -> bool and cleanup().
    """

    _is_function_trainable = False

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.config = config if config is not None else {}
        self._info = _TrialInfo(kwargs.pop("_tune_info", None) or {})
        self._iteration = 0
        self._time_total = 0.0
        self._iterations_since_restore = 0
        self._time_since_restore = 0.0
        self._restored = False
        self._checkpoint_index = self._info.checkpoint_index
        self._logdir = self._info.trial_dir or None
        self.setup(copy.deepcopy(self.config))

    # ----- what subclasses implement -------------------------------------------------
    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> Any:
        """Resources a trial of this class needs (None: one CPU)."""
        return None

    def setup(self, config: dict[str, Any]) -> None:
        """Called once when the trial starts, with a copy of its config."""

    def step(self) -> dict[str, Any]:
        """One iteration of training; returns the metrics of that iteration."""
        raise NotImplementedError(f"{type(self).__name__} must implement step().")

    def save_checkpoint(self, checkpoint_dir: str) -> dict | None:
        """Write state into `checkpoint_dir`, or return a dict that Tune pickles there."""
        raise NotImplementedError(f"{type(self).__name__} does not implement "
                                  "save_checkpoint(checkpoint_dir).")

    def load_checkpoint(self, checkpoint: dict | str) -> None:
        """Restore state from what save_checkpoint() wrote (the dict, or the directory)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement "
                                  "load_checkpoint(checkpoint).")

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Switch this instance to `new_config` in place; False if unsupported."""
        return False

    def cleanup(self) -> None:
        """Release resources when the trial ends."""

    # ----- driven by Tune ------------------------------------------------------------
    @property
    def iteration(self) -> int:
        return self._iteration

    @property
    def training_iteration(self) -> int:
        return self._iteration

    @property
    def trial_id(self) -> str:
        return self._info.trial_id

    @property
    def trial_name(self) -> str:
        return self._info.trial_name

    @property
    def trial_resources(self) -> Any:
        return self._info.resources

    @property
    def logdir(self) -> str:
        if self._logdir is None:
            self._logdir = tempfile.mkdtemp(prefix=f"{type(self).__name__}_")
        return self._logdir

    def train(self) -> dict[str, Any]:
        """Run one step() and return its result with Tune's automatic fields added."""
        start = time.time()
        metrics = self.step()
        if not isinstance(metrics, dict):
            raise TypeError(f"step() must return a dict of metrics, got "
                            f"{type(metrics).__name__}.")
        return self._annotate(dict(metrics), start)

    def _annotate(self, result: dict[str, Any], start: float) -> dict[str, Any]:
        now = time.time()
        dt = result.get("time_this_iter_s")
        if not isinstance(dt, int | float):
            dt = now - start
        self._iteration += 1
        self._iterations_since_restore += 1
        self._time_total += dt
        self._time_since_restore += dt
        hostname, node_ip = _host()
        result.setdefault("done", False)
        result.update(
            training_iteration=self._iteration, time_this_iter_s=dt,
            time_total_s=self._time_total, timestamp=int(now),
            date=datetime.fromtimestamp(now).strftime("%Y-%m-%d_%H-%M-%S"), pid=os.getpid(),
            hostname=hostname, node_ip=node_ip, trial_id=self.trial_id,
            iterations_since_restore=self._iterations_since_restore,
            time_since_restore=self._time_since_restore)
        return result

    def _next_checkpoint_dir(self) -> str:
        path = os.path.join(self.logdir, f"checkpoint_{self._checkpoint_index:06d}")
        self._checkpoint_index += 1
        return path

    def save(self, checkpoint_dir: str | None = None) -> str:
        """Save a checkpoint (into the trial folder unless `checkpoint_dir`); returns its path."""
        path = checkpoint_dir or self._next_checkpoint_dir()
        os.makedirs(path, exist_ok=True)
        state = self.save_checkpoint(path)
        if isinstance(state, dict):
            with open(os.path.join(path, _DICT_CHECKPOINT), "wb") as f:
                pickle.dump(state, f)
        return path

    def restore(self, checkpoint: Any, meta: dict[str, Any] | None = None) -> None:
        """Load a checkpoint (a path or Checkpoint) and continue the iteration counters."""
        path = getattr(checkpoint, "path", checkpoint)
        dict_file = os.path.join(path, _DICT_CHECKPOINT)
        if os.path.exists(dict_file):
            with open(dict_file, "rb") as f:
                self.load_checkpoint(pickle.load(f))
        else:
            self.load_checkpoint(path)
        self._set_progress(meta)

    def _set_progress(self, meta: dict[str, Any] | None) -> None:
        meta = meta or {}
        self._iteration = int(meta.get("training_iteration", self._iteration))
        self._time_total = float(meta.get("time_total_s", self._time_total))
        self._iterations_since_restore = 0
        self._time_since_restore = 0.0
        self._restored = True

    def stop(self) -> bool:
        """End the trial: run cleanup(); True if the process can host another trial."""
        self.cleanup()
        return True
