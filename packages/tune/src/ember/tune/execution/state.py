"""The experiment state file: trials and search state, rewritten atomically for restore."""

from __future__ import annotations

import os
import time
from typing import Any

import cloudpickle

STATE_FILE = "experiment_state.pkl"
TUNER_FILE = "tuner.pkl"


def write_atomic(path: str, obj: Any) -> None:
    """Pickle `obj` to `path` through a temporary file and a rename (no torn files)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        cloudpickle.dump(obj, f)
    os.replace(tmp, path)


def read(path: str) -> Any:
    with open(path, "rb") as f:
        return cloudpickle.load(f)


def save_experiment_state(experiment_path: str, trials: list[Any], search_state: Any,
                          extra: dict[str, Any]) -> None:
    write_atomic(os.path.join(experiment_path, STATE_FILE), {
        "trials": [t.get_state() for t in trials], "search_alg": search_state,
        "timestamp": time.time(), **extra})


def load_experiment_state(experiment_path: str) -> dict[str, Any]:
    return read(os.path.join(experiment_path, STATE_FILE))
