"""TuneConfig: what to optimise and how trials are searched and scheduled."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["TuneConfig"]


@dataclasses.dataclass
class TuneConfig:
    """Tuning settings for a Tuner.

    metric/mode name the objective (schedulers, searchers and get_best_result default to
    them). num_samples repeats the search space (each grid point num_samples times with
    BasicVariantGenerator; the number of suggestions with other searchers; -1: without
    limit). max_concurrent_trials caps trials running at once; time_budget_s ends the
    experiment after that many seconds. reuse_actors runs consecutive trials in the same
    actor process when their resource requests match (default True).
    """

    mode: str | None = None
    metric: str | None = None
    search_alg: Any = None
    scheduler: Any = None
    num_samples: int = 1
    max_concurrent_trials: int | None = None
    time_budget_s: float | None = None
    reuse_actors: bool | None = None
    trial_name_creator: Callable[[Any], str] | None = None
    trial_dirname_creator: Callable[[Any], str] | None = None

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got {self.mode!r}.")
        if not isinstance(self.num_samples, int) or (self.num_samples < 1
                                                    and self.num_samples != -1):
            raise ValueError(f"num_samples must be a positive integer or -1, "
                             f"got {self.num_samples!r}.")
        if self.max_concurrent_trials is not None and self.max_concurrent_trials < 1:
            raise ValueError(f"max_concurrent_trials must be >= 1, "
                             f"got {self.max_concurrent_trials}.")
        if self.time_budget_s is not None:
            seconds = getattr(self.time_budget_s, "total_seconds", None)
            if seconds is not None:
                self.time_budget_s = seconds()
