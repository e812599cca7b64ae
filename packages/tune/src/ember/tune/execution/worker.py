"""TrialWorker: the ember actor that hosts one trial at a time.

start() sets a trial up and returns its first result (one round trip); train() returns
the next ones. A new start() first ends the previous trial if stop() was not called,
so the same process can host trial after trial (reuse_actors).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ember.tune import session
from ember.tune.trainable.trainable import Trainable


class TrialWorker:
    """Holds a Trainable instance for the trial currently assigned to this process."""

    def __init__(self, trainable_cls: type[Trainable]) -> None:
        self._cls = trainable_cls
        self._trainable: Trainable | None = None

    def start(self, config: dict[str, Any], info: dict[str, Any],
              restore: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
        """Set up a trial (restoring it from a checkpoint if given) and train once."""
        self.stop()
        session._set_trial(session._TrialInfo(info))
        if info.get("log_files"):
            self._redirect(*info["log_files"])
        trainable = self._cls(config, _tune_info=info)
        self._trainable = trainable
        if restore:
            trainable.restore(restore["path"], restore.get("meta"))
        return self.train()

    def train(self) -> tuple[dict[str, Any] | None, str | None]:
        """(result, checkpoint path or None); result None means the trainable finished."""
        t = self._trainable
        if t is None:
            raise RuntimeError("train() called before setup().")
        result = t.train()
        if t._is_function_trainable:
            return result, t.take_reported_checkpoint()  # type: ignore[attr-defined]
        checkpoint = None
        if result is not None:
            freq = t._info.checkpoint_frequency
            wants = result.pop("should_checkpoint", False)
            if wants or (freq and result["training_iteration"] % freq == 0):
                checkpoint = t.save()
        return result, checkpoint

    def save(self) -> str | None:
        """Save a class Trainable now (function trainables checkpoint through report())."""
        t = self._trainable
        if t is None or t._is_function_trainable:
            return None
        return t.save()

    def stop(self) -> bool:
        """End the current trial; True if this process can host another one."""
        t, self._trainable = self._trainable, None
        try:
            return True if t is None else bool(t.stop())
        finally:
            session._set_trial(None)
            self._restore_streams()

    def _redirect(self, stdout_path: str, stderr_path: str) -> None:
        """RunConfig(log_to_file=...): the trial's prints go to files in its folder."""
        out = open(stdout_path, "a", buffering=1)
        err = out if stderr_path == stdout_path else open(stderr_path, "a", buffering=1)
        self._saved_streams = (sys.stdout, sys.stderr, out, err)
        sys.stdout, sys.stderr = out, err

    def _restore_streams(self) -> None:
        saved = getattr(self, "_saved_streams", None)
        if saved is None:
            return
        sys.stdout, sys.stderr = saved[0], saved[1]
        for f in {id(saved[2]): saved[2], id(saved[3]): saved[3]}.values():
            f.close()
        self._saved_streams = None

    def pid(self) -> int:
        return os.getpid()
