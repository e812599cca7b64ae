"""CSVLoggerCallback: progress.csv with one row per result (nested keys joined by '/')."""

from __future__ import annotations

import csv
import os
from typing import Any

from ember.tune.logger.logger import _FileLogger
from ember.tune.search.variant_generator import flatten_dict

__all__ = ["CSVLoggerCallback"]


class CSVLoggerCallback(_FileLogger):
    """Writes progress.csv per trial; the columns are those of the trial's first result."""

    filename = "progress.csv"

    def __init__(self) -> None:
        super().__init__()
        self._writers: dict[str, csv.DictWriter] = {}

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        row = dict(result)
        row.pop("config", None)
        row = flatten_dict(row)
        writer = self._writers.get(trial.trial_id)
        if writer is None:
            path = os.path.join(trial.path, self.filename)
            existing = _header(path)
            f = self._open(trial)
            writer = csv.DictWriter(f, fieldnames=existing or list(row), extrasaction="ignore")
            if not existing:
                writer.writeheader()
            self._writers[trial.trial_id] = writer
        writer.writerow(row)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        self._writers.pop(trial.trial_id, None)
        super().log_trial_end(trial, failed)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._writers.clear()
        super().on_experiment_end(trials, **info)


def _header(path: str) -> list[str] | None:
    try:
        with open(path, newline="") as f:
            return next(csv.reader(f), None)
    except FileNotFoundError:
        return None
