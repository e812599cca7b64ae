"""BasicVariantGenerator: grid search and random sampling (the default search algorithm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ember.tune.search.search_algorithm import SearchAlgorithm, Variant
from ember.tune.search.variant_generator import (
    format_path,
    format_vars,
    grid_point,
    grid_size,
    parse_spec,
    points_to_paths,
    resolve,
)

__all__ = ["BasicVariantGenerator"]


class BasicVariantGenerator(SearchAlgorithm):
    """Every grid combination `num_samples` times, random domains sampled afresh each time.

    points_to_evaluate are used, in order, as the first samples (their keys fixed, the
    rest sampled). random_state (a seed or numpy Generator) makes the draws reproducible.
    With constant_grid_search=True the random values are drawn once per sample and kept
    across that sample's grid combinations.
    """

    def __init__(self, points_to_evaluate: Sequence[dict] | None = None, max_concurrent: int = 0,
                 constant_grid_search: bool = False, random_state: Any = None) -> None:
        self._points = [dict(p) for p in points_to_evaluate or []]
        self.max_concurrent = max_concurrent
        self._constant_grid_search = constant_grid_search
        if isinstance(random_state, np.random.Generator):
            self._rng = random_state
        else:
            self._rng = np.random.default_rng(random_state)
        self._spec: dict = {}
        self._grids: list = []
        self._num_samples = 1
        self._sample_index = 0
        self._grid_index = 0
        self._constant: dict = {}
        self._live: set[str] = set()
        self._finished = False

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        self._metric, self._mode = metric, mode
        self._spec = config
        self._grids, _, _ = parse_spec(config)
        num_samples = spec.get("num_samples", 1)
        if num_samples != -1:
            num_samples = max(num_samples, len(self._points))
        self._num_samples = num_samples
        return True

    @property
    def total_samples(self) -> int | None:
        if self._num_samples == -1:
            return None
        return self._num_samples * grid_size(self._grids)

    def next_trial(self, trial_id: str) -> Variant | None:
        if self._finished:
            return None
        if self.max_concurrent and len(self._live) >= self.max_concurrent:
            return None
        if self._num_samples != -1 and self._sample_index >= self._num_samples:
            self._finished = True
            return None
        fixed: dict = {}
        if self._sample_index < len(self._points):
            fixed = points_to_paths(self._points[self._sample_index])
        if self._constant_grid_search and self._grid_index > 0:
            fixed = {**self._constant, **fixed}
        grid_values = grid_point(self._grids, self._grid_index)
        config, chosen = resolve(self._spec, self._rng, grid_values, fixed)
        if self._constant_grid_search and self._grid_index == 0:
            grid_paths = {p for p, _ in self._grids}
            self._constant = {p: v for p, v in chosen.items() if p not in grid_paths}
        self._grid_index += 1
        if self._grid_index >= grid_size(self._grids):
            self._grid_index = 0
            self._sample_index += 1
        if self.max_concurrent:
            self._live.add(trial_id)
        params = {format_path(p): v for p, v in chosen.items()}
        return Variant(config, format_vars(chosen), params)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self._live.discard(trial_id)
