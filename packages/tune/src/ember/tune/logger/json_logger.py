"""JsonLoggerCallback: params.json / params.pkl and one result.json line per result."""

from __future__ import annotations

import os
from typing import Any

from ember.tune.logger.logger import _FileLogger, dumps

__all__ = ["JsonLoggerCallback"]


class JsonLoggerCallback(_FileLogger):
    """Writes each trial's config to params.json (and params.pkl) and its results to
    result.json, one JSON object per line."""

    filename = "result.json"

    def log_trial_start(self, trial: Any) -> None:
        import cloudpickle

        with open(os.path.join(trial.ensure_dir(), "params.json"), "w") as f:
            f.write(dumps(trial.config, indent=2, sort_keys=True))
        try:
            with open(os.path.join(trial.path, "params.pkl"), "wb") as f:
                cloudpickle.dump(trial.config, f)
        except Exception:  # noqa: BLE001 - a config that cannot be pickled is still logged
            pass
        self._open(trial)

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        self._open(trial).write(dumps(result) + "\n")
