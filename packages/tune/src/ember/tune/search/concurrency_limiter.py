"""ConcurrencyLimiter: caps how many of a searcher's suggestions run at once."""

from __future__ import annotations

from typing import Any

from ember.tune.search.searcher import Searcher

__all__ = ["ConcurrencyLimiter"]


class ConcurrencyLimiter(Searcher):
    """Wraps a searcher so that at most `max_concurrent` of its trials are live.

    With batch=True it waits for the whole batch of `max_concurrent` trials to finish
    before suggesting again (useful for searchers that learn in rounds).
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        if not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be an integer >= 1, got {max_concurrent!r}.")
        super().__init__()
        self.searcher = searcher
        self.max_concurrent = max_concurrent
        self.batch = batch
        self.live_trials: set[str] = set()
        self.num_unfinished_live_trials = 0

    @property
    def metric(self) -> str | None:
        return self.searcher.metric

    @property
    def mode(self) -> str | None:
        return self.searcher.mode

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict | str | None:
        if len(self.live_trials) >= self.max_concurrent:
            return None
        suggestion = self.searcher.suggest(trial_id)
        if suggestion not in (None, Searcher.FINISHED):
            self.live_trials.add(trial_id)
            self.num_unfinished_live_trials += 1
        return suggestion

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self.live_trials:
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        if trial_id not in self.live_trials:
            return
        self.searcher.on_trial_complete(trial_id, result=result, error=error)
        self.num_unfinished_live_trials -= 1
        if not self.batch or self.num_unfinished_live_trials == 0:
            if self.batch:
                self.live_trials.clear()
            else:
                self.live_trials.discard(trial_id)

    def get_state(self) -> dict:
        return {"searcher": self.searcher.get_state(), "live": set(self.live_trials),
                "unfinished": self.num_unfinished_live_trials}

    def set_state(self, state: dict) -> None:
        self.searcher.set_state(state["searcher"])
        self.live_trials = set(state["live"])
        self.num_unfinished_live_trials = state["unfinished"]
