"""SearchAlgorithm: what the controller asks for new trials, and the Searcher adapter."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ember.tune.search.searcher import Searcher
from ember.tune.search.variant_generator import (
    deep_merge,
    flatten_dict,
    format_vars,
    parse_spec,
    points_to_paths,
    resolve,
)

__all__ = ["SearchAlgorithm", "SearchGenerator", "Variant"]


@dataclasses.dataclass
class Variant:
    """One concrete trial config, its short tag and the values that were searched over."""

    config: dict
    tag: str
    params: dict[str, Any]


class SearchAlgorithm:
    """Produces trial configs for the controller (BasicVariantGenerator, SearchGenerator)."""

    _finished = False
    _metric: str | None = None
    _mode: str | None = None

    @property
    def metric(self) -> str | None:
        return self._metric

    @property
    def mode(self) -> str | None:
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        """Receive the objective, the param_space and `num_samples`; False if refused."""
        return True

    def next_trial(self, trial_id: str) -> Variant | None:
        """The next trial's config, or None when there is none right now."""
        raise NotImplementedError

    def is_finished(self) -> bool:
        return self._finished

    def set_finished(self) -> None:
        self._finished = True

    @property
    def total_samples(self) -> int | None:
        return None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        pass

    def get_state(self) -> dict:
        return dict(self.__dict__)

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)


class SearchGenerator(SearchAlgorithm):
    """Adapts a Searcher (OptunaSearch, ConcurrencyLimiter, ...) to the controller.

    It stops after `num_samples` suggestions, merges each suggestion into the param_space
    and resolves what the searcher left (constants, sample_from functions).
    """

    def __init__(self, searcher: Searcher) -> None:
        if not isinstance(searcher, Searcher):
            raise TypeError(f"search_alg must be a Searcher or SearchAlgorithm, "
                            f"got {type(searcher).__name__}.")
        self.searcher = searcher
        self._spec: dict = {}
        self._num_samples = 1
        self._count = 0
        self._finished = False
        self._rng = np.random.default_rng(0)

    @property
    def metric(self) -> str | None:
        return self.searcher.metric

    @property
    def mode(self) -> str | None:
        return self.searcher.mode

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        grids, _, _ = parse_spec(config)
        if grids:
            raise ValueError(
                f"Grid search parameters cannot be used with {type(self.searcher).__name__}: "
                "use BasicVariantGenerator (the default search algorithm) for grid search, "
                "or replace tune.grid_search with tune.choice.")
        self._spec = config
        self._num_samples = spec.get("num_samples", 1)
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    @property
    def total_samples(self) -> int | None:
        return None if self._num_samples == -1 else self._num_samples

    def next_trial(self, trial_id: str) -> Variant | None:
        if self._finished:
            return None
        if self._num_samples != -1 and self._count >= self._num_samples:
            self._finished = True
            return None
        suggestion = self.searcher.suggest(trial_id)
        if suggestion == Searcher.FINISHED:
            self._finished = True
            return None
        if suggestion is None:
            return None
        self._count += 1
        merged = deep_merge(self._spec, suggestion)
        config, chosen = resolve(merged, self._rng)
        suggested = points_to_paths(suggestion)
        chosen = {p: v for p, v in chosen.items() if p not in suggested}
        params = {**flatten_dict(suggestion), **{"/".join(map(str, p)): v
                                                 for p, v in chosen.items()}}
        tag = format_vars({tuple(k.split("/")): v for k, v in params.items()})
        return Variant(config, tag, params)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    def get_state(self) -> dict:
        return {"searcher": self.searcher.get_state(), "count": self._count,
                "finished": self._finished, "rng": self._rng}

    def set_state(self, state: dict) -> None:
        self.searcher.set_state(state["searcher"])
        self._count = state["count"]
        self._finished = state["finished"]
        self._rng = state["rng"]
