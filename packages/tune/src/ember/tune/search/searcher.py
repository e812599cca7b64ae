"""Searcher: the interface of suggestion-based search algorithms (Optuna, ...)."""

from __future__ import annotations

import os
import pickle
from typing import Any

__all__ = ["Searcher"]


class Searcher:
    """Suggests configs one trial at a time and learns from their results.

    Subclasses implement suggest() and on_trial_complete(); metric and mode come from
    the constructor or, if unset there, from TuneConfig via set_search_properties().
    """

    FINISHED = "FINISHED"

    def __init__(self, metric: str | None = None, mode: str | None = None) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
        self._metric = metric
        self._mode = mode

    @property
    def metric(self) -> str | None:
        return self._metric

    @property
    def mode(self) -> str | None:
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        """Fill in metric/mode (and the search space) unless already set; False if refused."""
        if self._metric is None and metric is not None:
            self._metric = metric
        if self._mode is None and mode is not None:
            self._mode = mode
        return True

    def suggest(self, trial_id: str) -> dict | str | None:
        """A config for a new trial, None to wait, or Searcher.FINISHED."""
        raise NotImplementedError

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """An intermediate result of a running trial."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """The trial ended: `result` is its last result; `error` if it failed."""
        raise NotImplementedError

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False,
                            pruned: bool = False, intermediate_values: list | None = None
                            ) -> None:
        """Tell the searcher about a point evaluated outside Tune (where supported)."""
        raise NotImplementedError(f"{type(self).__name__} does not support "
                                  "add_evaluated_point.")

    def get_state(self) -> dict:
        return dict(self.__dict__)

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        """Pickle the searcher's state to `checkpoint_path`."""
        tmp = checkpoint_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(self.get_state(), f)
        os.replace(tmp, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Load the state written by save()."""
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))
