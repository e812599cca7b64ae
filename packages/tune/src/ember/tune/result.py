"""Result: the outcome of one trial (last metrics, config, checkpoints, error, folder)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from ember.tune.checkpoint import Checkpoint

__all__ = ["AUTO_RESULT_KEYS", "DONE", "EPISODES_TOTAL", "HOSTNAME", "NODE_IP", "PID",
           "Result", "SHOULD_CHECKPOINT", "TIMESTAMP", "TIMESTEPS_TOTAL", "TIME_THIS_ITER_S",
           "TIME_TOTAL_S", "TRAINING_ITERATION", "TRIAL_ID"]

# Result keys (Ray's `ray.tune.result` names). A callback that sets SHOULD_CHECKPOINT in
# a class Trainable's result has the trial checkpointed.
DONE = "done"
EPISODES_TOTAL = "episodes_total"
HOSTNAME = "hostname"
NODE_IP = "node_ip"
PID = "pid"
SHOULD_CHECKPOINT = "should_checkpoint"
TIMESTAMP = "timestamp"
TIMESTEPS_TOTAL = "timesteps_total"
TIME_THIS_ITER_S = "time_this_iter_s"
TIME_TOTAL_S = "time_total_s"
TRAINING_ITERATION = "training_iteration"
TRIAL_ID = "trial_id"

# The keys Tune adds to every result (Ray's `ray.tune.result.AUTO_RESULT_KEYS`).
AUTO_RESULT_KEYS = ("training_iteration", "time_total_s", "episodes_total",
                    "timesteps_total", "node_ip", "hostname", "pid", "time_total_s",
                    "time_this_iter_s", "timestamp", "date", "time_since_restore",
                    "timesteps_since_restore", "iterations_since_restore", "config",
                    "checkpoint_dir_name")
# Further keys a Result's repr leaves out (Ray's output BLACKLISTED_KEYS).
_HIDDEN_KEYS = {"config", "date", "done", "hostname", "iterations_since_restore", "node_ip",
                "pid", "time_since_restore", "timestamp", "trial_id", "experiment_tag",
                "should_checkpoint", "_report_on"}


@dataclasses.dataclass(init=False)
class Result:
    """What a trial produced.

    metrics: its last reported result (with "config"); checkpoint: its latest
    checkpoint; error: the exception it failed with (None if it succeeded); path: its
    folder; best_checkpoints: the kept checkpoints with the metrics reported alongside.
    """

    metrics: dict[str, Any] | None
    checkpoint: Checkpoint | None
    error: BaseException | None
    path: str
    best_checkpoints: list[tuple[Checkpoint, dict[str, Any]]] | None = None
    _metrics_dataframe: Any = dataclasses.field(default=None, repr=False)

    def __init__(self, metrics: dict[str, Any] | None, checkpoint: Checkpoint | None,
                 error: BaseException | None, path: str,
                 best_checkpoints: list[tuple[Checkpoint, dict[str, Any]]] | None = None,
                 metrics_dataframe: Any = None, _storage_filesystem: Any = None) -> None:
        self.metrics = metrics
        self.checkpoint = checkpoint
        self.error = error
        self.path = path
        self.best_checkpoints = best_checkpoints
        self._metrics_dataframe = metrics_dataframe

    @property
    def config(self) -> dict[str, Any] | None:
        if not self.metrics:
            return None
        return self.metrics.get("config")

    @property
    def filesystem(self) -> Any:
        return None

    @property
    def metrics_dataframe(self) -> Any:
        """Every result the trial reported, as a pandas DataFrame (read from result.json)."""
        if self._metrics_dataframe is None:
            self._metrics_dataframe = _read_results(self.path)
        return self._metrics_dataframe

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Result:
        """A Result rebuilt from a trial folder (its result.json and checkpoint folders)."""
        path = os.fspath(path)
        rows = _read_rows(path)
        if not rows:
            raise RuntimeError(f"No results found in {path!r} (expected a result.json).")
        checkpoints = sorted(d for d in os.listdir(path) if d.startswith("checkpoint_") and
                             os.path.isdir(os.path.join(path, d)))
        latest = Checkpoint(os.path.join(path, checkpoints[-1])) if checkpoints else None
        error = None
        if os.path.exists(os.path.join(path, "error.txt")):
            from ember.tune.error import TuneError

            with open(os.path.join(path, "error.txt")) as f:
                error = TuneError(f.read())
        return cls(metrics=rows[-1], checkpoint=latest, error=error, path=path,
                   best_checkpoints=[(Checkpoint(os.path.join(path, d)), {})
                                     for d in checkpoints])

    def _repr(self, indent: int = 0) -> str:
        """Ray's layout: one attribute a line, the error as its type's name, and the
        metrics without the keys Tune adds."""
        shown: dict[str, Any] = {}
        if self.error:
            shown["error"] = type(self.error).__name__
        hidden = set(AUTO_RESULT_KEYS) | _HIDDEN_KEYS
        shown["metrics"] = {k: v for k, v in self.metrics.items() if k not in hidden} \
            if self.metrics else self.metrics
        shown.update(path=self.path, filesystem="local", checkpoint=self.checkpoint)
        pad, kw_pad = " " * indent, " " * (indent + 2)
        body = ",\n".join(f"{kw_pad}{k}={v!r}" for k, v in shown.items())
        return f"{pad}{type(self).__name__}(\n{body}\n{pad})"

    def __repr__(self) -> str:
        return self._repr()


def _read_rows(path: str) -> list[dict[str, Any]]:
    rows = []
    try:
        with open(os.path.join(path, "result.json")) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def _read_results(path: str) -> Any:
    import pandas as pd

    from ember.tune.search.variant_generator import flatten_dict

    rows = [flatten_dict(r) for r in _read_rows(path)]
    return pd.DataFrame(rows)
